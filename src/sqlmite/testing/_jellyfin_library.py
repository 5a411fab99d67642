"""The BaseItems tree of a Jellyfin library: root → libraries → movies / series → seasons → episodes /
artists → albums → tracks, plus trailers, alternate versions, playlists and box sets.

Items are written as they are made (parents first), with their AncestorIds closure and related
rows, so memory stays flat however many items are asked for. The item budget is exact: the
database gets ``items`` library rows plus Jellyfin's placeholder row.
"""

from __future__ import annotations

import json

from sqlmite.testing._jellyfin_media import (
    ALBUM_ARTIST,
    ARTIST,
    BACKDROP,
    BANNER,
    GENRE,
    INHERITED_TAG,
    LOGO,
    PRIMARY,
    STUDIO,
    TAG,
    THUMB,
    MediaRows,
)
from sqlmite.testing._jellyfin_values import (
    COUNTRIES,
    GENRES,
    ISO2,
    RATINGS,
    STUDIOS,
    TAGLINES,
    TAGS,
    TICKS_PER_SECOND,
    Maker,
    Sink,
    artist_name,
    clean_value,
    format_datetime,
    n_format,
    sort_name,
    widen_f32,
)

_E = "MediaBrowser.Controller.Entities."
MOVIE, TRAILER, BOXSET = _E + "Movies.Movie", _E + "Trailer", _E + "Movies.BoxSet"
SERIES, SEASON, EPISODE = _E + "TV.Series", _E + "TV.Season", _E + "TV.Episode"
ARTIST_ITEM, ALBUM, AUDIO = _E + "Audio.MusicArtist", _E + "Audio.MusicAlbum", _E + "Audio.Audio"
PLAYLIST = "MediaBrowser.Controller.Playlists.Playlist"
MINUTE = 60 * TICKS_PER_SECOND
_POOL = 400  # reservoir of recent movies/tracks that playlists and box sets link to
_VIDEO_GENRES = GENRES[:20]
_MUSIC_GENRES = GENRES[20:]
_LABELS = ("Sub Pop", "Warp", "Blue Note", "ECM", "Sony Music Japan")


def _json(**fields: object) -> str:
    """The ``Data`` column: compact System.Text.Json-style text of the properties without a column."""
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


class Library(MediaRows):
    """Builds the item tree into the sink; ``build()`` returns the library folder ids."""

    def __init__(self, mk: Maker, sink: Sink, version: str, user_ids: tuple[str, ...], items: int) -> None:
        super().__init__(mk, sink, version, user_ids, items)
        self.remaining = items
        self._items = sink.records("BaseItems")
        self._ancestors = sink.rows("AncestorIds")
        self._linked = sink.rows("LinkedChildren") if sink.has("LinkedChildren") else None
        self._user_ids = user_ids
        self._movie_pool: list[tuple[str, str]] = []
        self._track_pool: list[tuple[str, str]] = []
        self._serial = 0

    def _ref(self, item_id: str) -> str:
        """OwnerId/PrimaryVersionId text: 12.0 stores GUID text, 10.11 stored .NET strings."""
        return item_id if self.v12 else item_id.lower()

    def _remember(self, pool: list[tuple[str, str]], entry: tuple[str, str]) -> None:
        if len(pool) < _POOL:
            pool.append(entry)
        else:
            pool[self.mk.below(_POOL)] = entry

    def _add(self, kind: str, name: str, chain: tuple[str, ...], top: str | None, path: str | None, *,
             folder: bool = False, media: str | None = None, item_id: str | None = None,
             **fields: object) -> str:
        """One BaseItems row plus its AncestorIds closure; counts against the item budget."""
        mk = self.mk
        item_id = item_id or mk.guid()
        created, frac = mk.instant(1200)
        row: dict[str, object] = {
            "Id": item_id, "Type": kind, "Name": name, "CleanName": clean_value(name),
            "SortName": sort_name(name), "Path": path, "ParentId": chain[-1] if chain else None,
            "TopParentId": top, "DateCreated": format_datetime(created, frac),
            "DateModified": format_datetime(created - mk.below(90 * 86400), mk.below(10_000_000)),
            "DateLastSaved": mk.later(created, 10), "DateLastRefreshed": mk.later(created, 10),
            "IsFolder": int(folder), "IsInMixedFolder": 0, "IsLocked": int(mk.random() < 0.01), "IsMovie": 0,
            "IsRepeat": 0, "IsSeries": 0, "IsVirtualItem": 0, "MediaType": media,
            "PresentationUniqueKey": n_format(item_id),
        }
        row.update(fields)
        self._items.append(row)
        self._ancestors.extend((item_id, parent) for parent in chain)
        self.metadata_fields(item_id)
        self.remaining -= 1
        self.sink.flush_if_full()
        return item_id

    def _tags(self, item_id: str, genres: list[str], studios: list[str], tags: list[str]) -> dict[str, object]:
        """ItemValues for an item, and the matching ``|``-joined BaseItems columns."""
        self.item_values(item_id, GENRE, genres)
        self.item_values(item_id, STUDIO, studios)
        self.item_values(item_id, TAG, tags)
        return {"Genres": "|".join(genres) or None, "Studios": "|".join(studios) or None,
                "Tags": "|".join(tags) or None}

    def build(self) -> list[str]:
        """The whole tree; the budget split is movies 25 %, shows 45 %, music the rest."""
        root = self._add(_E + "AggregateFolder", "root", (), None, "/config/root", folder=True)
        folders = []
        for ctype, name, source in (("movies", "Movies", "/media/movies"), ("tvshows", "Séries TV", "/media/tv"),
                                    ("music", "Music", "/media/music")):
            folders.append(self._add(_E + "CollectionFolder", name, (root,), None,
                                     f"/config/root/default/{name}", folder=True,
                                     Data=_json(CollectionType=ctype, PhysicalLocationsList=[source])))
        playlists = self._add("MediaBrowser.Controller.Playlists.PlaylistsFolder", "Playlists", (root,), None,
                              "/config/data/playlists", folder=True)
        boxsets = self._add("MediaBrowser.Controller.Collections.ManualCollectionsFolder", "Collections",
                            (root,), None, "/config/data/collections", folder=True)
        rest = self.remaining
        lists = max(2, rest // 200)
        movies, shows = rest * 25 // 100, rest * 45 // 100
        self._movies((root, folders[0]), movies)
        self._shows((root, folders[1]), shows)
        self._music((root, folders[2]), rest - lists - movies - shows)
        self._collections(root, playlists, boxsets)
        self.detached_user_data(max(2, rest // 500))
        return folders

    # -- movies -----------------------------------------------------------------------------------

    def _movies(self, chain: tuple[str, ...], budget: int) -> None:
        mk, top = self.mk, chain[-1]
        stop = self.remaining - budget
        while self.remaining > stop:
            self._serial += 1
            tmdb = 10_000 + self._serial * 7
            year, name = 1950 + mk.below(76), mk.title()
            folder = f"/media/movies/{name} ({year}) [tmdbid-{tmdb}]"
            hdr = mk.random() < 0.2
            width, height = (3840, 2160) if hdr else (1920, 1080) if mk.random() < 0.7 else (1920, 800)
            path = f"{folder}/{name} ({year}).mkv"
            runtime = (80 + mk.below(100)) * MINUTE + mk.below(60) * TICKS_PER_SECOND
            extras = [mk.guid() for _ in range(min(1 if mk.random() < 0.15 else 0, self.remaining - stop - 1))]
            alternate = mk.random() < 0.04 and self.remaining - stop - 1 - len(extras) > 0
            alt_path = f"{folder}/{name} ({year}) - 2160p.mkv"
            item_id = mk.guid()
            rating, rating_value = mk.pick(RATINGS)
            language = mk.language()
            fields = self._tags(item_id, mk.sample(_VIDEO_GENRES, 1 + mk.below(3)),
                                mk.sample(STUDIOS, mk.below(3)), mk.sample(TAGS, mk.below(4)))
            self._add(
                MOVIE, name, chain, top, path, media="Video", item_id=item_id, **fields,
                ProductionYear=year, PremiereDate=mk.premiere(year), RunTimeTicks=runtime,
                Size=runtime // TICKS_PER_SECOND * (2_000_000 if hdr else 600_000),
                TotalBitrate=16_000_000 if hdr else 4_800_000, Width=width, Height=height,
                OfficialRating=rating if mk.random() < 0.9 else None, InheritedParentalRatingValue=rating_value,
                CommunityRating=mk.rating() if mk.random() < 0.9 else None,
                CriticRating=widen_f32(float(20 + mk.below(80))) if mk.random() < 0.5 else None,
                ProductionLocations="|".join(mk.sample(COUNTRIES, 1 + mk.below(2))),
                Overview=mk.overview(), Tagline=mk.pick(TAGLINES) if mk.random() < 0.4 else None,
                OriginalTitle=name if language == "eng" else f"{name} ({language})",
                OriginalLanguage=ISO2[language],
                ExtraIds="|".join(e.lower() for e in extras) or None,
                Data=_json(LocalAlternateVersions=[alt_path] if alternate else [], Video3DFormat=None,
                           HasSubtitles=True, IsHD=True),
            )
            self.video_streams(item_id, path, width, height, hdr, (language, "eng")[: 1 + mk.below(2)],
                               mk.below(4))
            self.chapters(item_id, runtime, 4 + mk.below(9))
            self.video_extras(item_id, runtime, width, height, episode=False)
            art = ((PRIMARY, "poster.jpg", 1000, 1500), (BACKDROP, "backdrop.jpg", 3840, 2160))
            art = art[: 1 + int(mk.random() < 0.7)] + (((LOGO, "logo.png", 800, 310),) if mk.random() < 0.3 else ())
            self.images(item_id, folder, art)
            ids = (("Imdb", f"tt{1_000_000 + self._serial * 13:07d}"), ("Tmdb", str(tmdb)))
            self.providers(item_id, ids + ((("TmdbCollection", str(tmdb * 3)),) if mk.random() < 0.1 else ()))
            self.cast(item_id, 3 + mk.below(8), crew=True)
            self.user_data(item_id, str(tmdb), runtime, playable=True)
            self._remember(self._movie_pool, (item_id, path))
            for extra_id in extras:
                trailer_path = f"{folder}/trailers/{name} - Trailer.mp4"
                self._add(TRAILER, f"{name} - Trailer", (), top, trailer_path, media="Video", item_id=extra_id,
                          OwnerId=self._ref(item_id), ExtraType=2, RunTimeTicks=2 * MINUTE + 30 * TICKS_PER_SECOND,
                          Width=1920, Height=1080, ProductionYear=year)
                self.video_streams(extra_id, trailer_path, 1920, 1080, False, ("eng",), 0)
                self.trailer_type(extra_id)
            if alternate:
                alt_id = self._add(MOVIE, name, chain, top, alt_path, media="Video", ProductionYear=year,
                                   PrimaryVersionId=item_id if self.v12 else n_format(item_id),
                                   RunTimeTicks=runtime, Width=3840, Height=2160, Genres=fields["Genres"])
                self.video_streams(alt_id, alt_path, 3840, 2160, True, (language,), 1)

    # -- shows ------------------------------------------------------------------------------------

    def _shows(self, chain: tuple[str, ...], budget: int) -> None:
        mk, top = self.mk, chain[-1]
        stop = self.remaining - budget
        while self.remaining > stop:
            self._serial += 1
            tvdb = 70_000 + self._serial * 11
            year, name = 1980 + mk.below(46), mk.title()
            folder = f"/media/tv/{name} ({year}) [tvdbid-{tvdb}]"
            episode_minutes = mk.pick((22, 25, 42, 45, 55))
            ended = mk.random() < 0.5
            series_id = mk.guid()
            tags = mk.sample(TAGS, mk.below(3))
            rating, rating_value = mk.pick(RATINGS)
            language = mk.language()
            fields = self._tags(series_id, mk.sample(_VIDEO_GENRES, 1 + mk.below(3)),
                                mk.sample(STUDIOS, 1 + mk.below(2)), tags)
            self._add(
                SERIES, name, chain, top, folder, folder=True, item_id=series_id, **fields, ProductionYear=year,
                PremiereDate=mk.premiere(year),
                EndDate=mk.premiere(min(year + 1 + mk.below(8), 2025)) if ended else None,
                RunTimeTicks=episode_minutes * MINUTE, OfficialRating=rating,
                InheritedParentalRatingValue=rating_value, CommunityRating=mk.rating(), Overview=mk.overview(),
                OriginalLanguage=ISO2[language], DateLastMediaAdded=mk.datetime(300),
                PreferredMetadataLanguage="fr" if mk.random() < 0.05 else None,
                Data=_json(Status="Ended" if ended else "Continuing",
                           AirDays=[mk.pick(("Sunday", "Monday", "Friday"))], AirTime="21:00", DisplayOrder=""),
            )
            puk = n_format(series_id)
            self.images(series_id, folder, ((PRIMARY, "poster.jpg", 680, 1000), (BACKDROP, "fanart.jpg", 1920, 1080),
                                            (BANNER, "banner.jpg", 758, 140), (LOGO, "clearlogo.png", 800, 310),
                                            (THUMB, "landscape.jpg", 1280, 720))[: 2 + mk.below(4)])
            self.providers(series_id, (("Tvdb", str(tvdb)), ("Tmdb", str(tvdb + 1)),
                                       ("Imdb", f"tt{2_000_000 + self._serial * 17:07d}")))
            self.cast(series_id, 4 + mk.below(8), crew=False)
            self.user_data(series_id, puk, None, playable=False)
            seasons = ([0] if mk.random() < 0.1 else []) + list(range(1, 2 + mk.below(6)))
            for season in seasons:
                if self.remaining <= stop:
                    break
                season_name = "Specials" if season == 0 else f"Season {season}"
                season_dir = f"{folder}/{season_name if season == 0 else f'Season {season:02d}'}"
                season_id = self._add(SEASON, season_name, chain + (series_id,), top, season_dir, folder=True,
                                      IndexNumber=season, SeriesId=series_id, SeriesName=name,
                                      SeriesPresentationUniqueKey=puk, PresentationUniqueKey=f"{puk}-{season:03d}",
                                      ProductionYear=year + max(season - 1, 0))
                if mk.random() < 0.5:
                    self.images(season_id, season_dir, ((PRIMARY, "poster.jpg", 680, 1000),))
                self._episodes(chain + (series_id, season_id), stop, name, puk, season, season_name, season_dir,
                               tvdb, episode_minutes, tags, rating_value)

    def _episodes(self, chain: tuple[str, ...], stop: int, series: str, puk: str, season: int, season_name: str,
                  folder: str, tvdb: int, minutes: int, tags: list[str], rating_value: int) -> None:
        mk, top = self.mk, chain[1]
        series_id, season_id = chain[-2], chain[-1]
        for number in range(1, 5 + mk.below(20)):
            if self.remaining <= stop:
                return
            roll = mk.random()
            title = mk.title() if roll < 0.7 else f"Episode {number}" if roll < 0.9 else f"第{number}話"
            virtual = mk.random() < 0.02
            path = None if virtual else f"{folder}/{series} - S{season:02d}E{number:02d} - {title}.mkv"
            runtime = minutes * MINUTE + mk.below(180) * TICKS_PER_SECOND
            width, height = (1920, 1080) if mk.random() < 0.8 else (1280, 720)
            item_id = self._add(
                EPISODE, title, chain, top, path, media="Video", IndexNumber=number, ParentIndexNumber=season,
                SeasonId=season_id, SeasonName=season_name, SeriesId=series_id, SeriesName=series,
                SeriesPresentationUniqueKey=puk, PresentationUniqueKey=f"{puk}{season:03d}{number:03d}",
                PremiereDate=mk.premiere(2000 + mk.below(26)), RunTimeTicks=runtime, IsVirtualItem=int(virtual),
                Width=None if virtual else width, Height=None if virtual else height,
                Size=None if virtual else runtime // TICKS_PER_SECOND * 350_000,
                CommunityRating=mk.rating() if mk.random() < 0.5 else None, Overview=mk.overview(),
                InheritedParentalRatingValue=rating_value,
            )
            self.item_values(item_id, INHERITED_TAG, tags)
            if not virtual:
                self.video_streams(item_id, path, width, height, False, (mk.language(),), mk.below(3))
                if mk.random() < 0.5:
                    self.chapters(item_id, runtime, 3 + mk.below(4))
                self.video_extras(item_id, runtime, width, height, episode=True)
                if mk.random() < 0.8:
                    thumb = (PRIMARY, f"S{season:02d}E{number:02d}.jpg", 400, 225)
                    self.images(item_id, f"{folder}/metadata", (thumb,))
                self.user_data(item_id, f"{tvdb}{season:03d}{number:03d}", runtime, playable=True)
            self.providers(item_id, (("Tvdb", str(tvdb * 100 + season * 30 + number)),))
            if mk.random() < 0.3:
                self.cast(item_id, 1 + mk.below(2), crew=False)

    # -- music ------------------------------------------------------------------------------------

    def _music(self, chain: tuple[str, ...], budget: int) -> None:
        mk, top = self.mk, chain[-1]
        stop = self.remaining - budget
        artists = 0
        while self.remaining > stop:
            name = artist_name(artists)
            artists += 1
            folder = f"/media/music/{name}"
            genres = mk.sample(_MUSIC_GENRES, 1 + mk.below(2))
            artist_id = self._add(ARTIST_ITEM, name, chain, top, folder, folder=True, Genres="|".join(genres),
                                  Overview=mk.overview() if mk.random() < 0.3 else None)
            self.item_values(artist_id, GENRE, genres)
            self.providers(artist_id, (("MusicBrainzArtist", mk.guid().lower()),))
            if mk.random() < 0.6:
                self.images(artist_id, folder, ((PRIMARY, "folder.jpg", 1000, 1000),))
            for _ in range(1 + mk.below(4)):
                if self.remaining <= stop:
                    break
                self._album(chain + (artist_id,), stop, name, artists, genres, folder)

    def _album(self, chain: tuple[str, ...], stop: int, artist: str, artists: int, genres: list[str],
               folder: str) -> None:
        mk, top = self.mk, chain[1]
        year, title = 1960 + mk.below(66), mk.title()
        album_dir = f"{folder}/{title} ({year})"
        album_id = self._add(ALBUM, title, chain, top, album_dir, folder=True, AlbumArtists=artist, Artists=artist,
                             ProductionYear=year, PremiereDate=mk.premiere(year), Genres="|".join(genres),
                             DateLastMediaAdded=mk.datetime(600),
                             Studios=mk.pick(_LABELS) if mk.random() < 0.3 else None)
        self.item_values(album_id, ARTIST, (artist,))
        self.item_values(album_id, ALBUM_ARTIST, (artist,))
        self.item_values(album_id, GENRE, genres)
        self.providers(album_id, ((name, mk.guid().lower()) for name in
                                  ("MusicBrainzAlbum", "MusicBrainzReleaseGroup", "MusicBrainzAlbumArtist")))
        self.images(album_id, album_dir, ((PRIMARY, "cover.jpg", 1200, 1200),))
        self.user_data(album_id, n_format(album_id), None, playable=False)
        flac = mk.random() < 0.6
        for number in range(1, 7 + mk.below(10)):
            if self.remaining <= stop:
                return
            title_text = mk.title()
            path = f"{album_dir}/{number:02d} - {title_text}.{'flac' if flac else 'mp3'}"
            featured = artist_name(mk.below(artists)) if mk.random() < 0.1 else artist
            names = [artist] if featured == artist else [artist, featured]
            runtime = 2 * MINUTE + mk.below(300) * TICKS_PER_SECOND
            normalized = mk.random() < 0.7
            track_id = self._add(
                AUDIO, title_text, chain + (album_id,), top, path, media="Audio", Album=title, AlbumArtists=artist,
                Artists="|".join(names), IndexNumber=number, ParentIndexNumber=1, ProductionYear=year,
                RunTimeTicks=runtime, Size=runtime // TICKS_PER_SECOND * (110_000 if flac else 40_000),
                TotalBitrate=900_000 if flac else 320_000, Genres="|".join(genres),
                LUFS=widen_f32(round(-6.0 - mk.random() * 12, 2)) if normalized else None,
                NormalizationGain=widen_f32(round(-4.0 + mk.random() * 8, 2)) if normalized else None,
            )
            self.item_values(track_id, ARTIST, names)
            self.item_values(track_id, ALBUM_ARTIST, (artist,))
            self.item_values(track_id, GENRE, genres)
            self.audio_streams(track_id, flac)
            self.providers(track_id, (("MusicBrainzTrack", mk.guid().lower()),))
            self.user_data(track_id, n_format(track_id), runtime, playable=True)
            self._remember(self._track_pool, (track_id, path))

    # -- playlists and collections ----------------------------------------------------------------

    def _collections(self, root: str, playlists: str, boxsets: str) -> None:
        """Spends the rest of the budget; children go to LinkedChildren (12.0) or into Data (10.11)."""
        mk = self.mk
        number = 0
        while self.remaining > 0:
            number += 1
            playlist = number % 2 == 1
            pool = self._track_pool if playlist else self._movie_pool
            children = mk.rng.sample(pool, min(len(pool), 3 + mk.below(25)))
            if playlist and len(children) > 3:
                children.append(children[1])  # 12.0 allows the same child twice in a playlist
            linked = [{"Path": path, "Type": "Manual", "ItemId": n_format(child)} for child, path in children]
            data: dict[str, object] = {}
            if playlist:
                owner = self._user_ids[number % len(self._user_ids)]
                data = {"OwnerUserId": owner.lower(), "Shares": [], "PlaylistMediaType": "Audio", "OpenAccess": False}
            if not self.v12:
                data["LinkedChildren"] = linked
            name = (f"{mk.pick(('Soirée', 'Road trip', 'Focus', '夜の', 'Chill ☕'))} #{number}" if playlist
                    else f"{mk.title()} Collection")
            path = (f"/config/data/playlists/{name}" if playlist
                    else f"/config/data/collections/{name} [boxset]")
            item_id = self._add(
                PLAYLIST if playlist else BOXSET, name, (root, playlists if playlist else boxsets), None, path,
                folder=True, media="Audio" if playlist else None, Data=_json(**data),
                DateLastMediaAdded=mk.datetime(100),
            )
            if self._linked is not None:
                self._linked.extend((item_id, order, child, 0) for order, (child, _) in enumerate(children))

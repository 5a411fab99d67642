"""Rows that hang off one library item: streams, chapters, images, provider ids, people, item values,
user data and the smaller per-item tables.

Split from the tree builder (``_jellyfin_library``) to keep each module readable. The high-volume
tables take tuples in the column order declared in ``TUPLE_COLUMNS`` (cheaper than dicts at a
million items); wide or version-dependent tables take dicts.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmite.testing._jellyfin_values import (
    FIRST_NAMES,
    MIN_DATETIME,
    PEOPLE_POOL_MAX,
    PLACEHOLDER_ID,
    TICKS_PER_SECOND,
    Maker,
    Sink,
    clean_value,
    n_format,
    person_name,
    stable_guid,
    widen_f32,
)

TUPLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "AncestorIds": ("ItemId", "ParentItemId"),
    "ItemValues": ("ItemValueId", "Type", "Value", "CleanValue"),
    "ItemValuesMap": ("ItemId", "ItemValueId"),
    "Peoples": ("Id", "Name", "PersonType"),
    "PeopleBaseItemMap": ("ItemId", "PeopleId", "Role", "ListOrder", "SortOrder"),
    "Chapters": ("ItemId", "ChapterIndex", "StartPositionTicks", "Name", "ImagePath", "ImageDateModified"),
    "BaseItemImageInfos": ("Id", "Blurhash", "DateModified", "Height", "ImageType", "ItemId", "Path", "Width"),
    "BaseItemProviders": ("ItemId", "ProviderId", "ProviderValue"),
    "UserData": ("ItemId", "UserId", "CustomDataKey", "AudioStreamIndex", "IsFavorite", "LastPlayedDate",
                 "Likes", "PlayCount", "PlaybackPositionTicks", "Played", "Rating", "SubtitleStreamIndex",
                 "RetentionDate"),
    "BaseItemMetadataFields": ("Id", "ItemId"),
    "BaseItemTrailerTypes": ("Id", "ItemId"),
    "KeyframeData": ("ItemId", "TotalDuration", "KeyframeTicks"),
    "TrickplayInfos": ("ItemId", "Width", "Height", "TileWidth", "TileHeight", "ThumbnailCount", "Interval",
                       "Bandwidth"),
    "MediaSegments": ("Id", "EndTicks", "ItemId", "SegmentProviderId", "StartTicks", "Type"),
    "AttachmentStreamInfos": ("ItemId", "Index", "Codec", "CodecTag", "Comment", "Filename", "MimeType"),
    "LinkedChildren": ("ParentId", "SortOrder", "ChildId", "ChildType"),
}

# ItemValueType, ImageInfoImageType, MediaStreamType and MediaSegmentType values Jellyfin stores.
ARTIST, ALBUM_ARTIST, GENRE, STUDIO, TAG, INHERITED_TAG = 0, 1, 2, 3, 4, 6
PRIMARY, ART, BACKDROP, BANNER, LOGO, THUMB = 0, 1, 2, 3, 4, 5
_AUDIO, _VIDEO, _SUBTITLE, _EMBEDDED_IMAGE = 0, 1, 2, 3
_PERSON_TYPES = ("Director", "Writer", "Producer", "Composer") + ("Actor",) * 6
_CREW_ROLES = {"Director": "Director", "Writer": "Screenplay", "Producer": "Producer",
               "Composer": "Original Music Composer"}
_CHAPTER_NAMES = ("Chapter {}", "Chapitre {}", "Kapitel {}", "第{}章", "Opening", "Ending")
_SEGMENT_PROVIDER = n_format(stable_guid("Intro Skipper"))
_AUDIO_CODECS = (("aac", 2, "stereo", "LC"), ("ac3", 6, "5.1", None), ("eac3", 6, "5.1(side)", None),
                 ("truehd", 8, "7.1", None), ("dts", 6, "5.1", "DTS-HD MA"), ("opus", 2, "stereo", None))


class MediaRows:
    """Per-item related rows; ``Library`` builds the tree on top of this."""

    def __init__(self, mk: Maker, sink: Sink, version: str, user_ids: tuple[str, ...], items: int) -> None:
        self.mk = mk
        self.sink = sink
        self.v12 = version == "12.0"
        self._streams = sink.records("MediaStreamInfos")
        self._chapters = sink.rows("Chapters")
        self._images = sink.rows("BaseItemImageInfos")
        self._providers = sink.rows("BaseItemProviders")
        self._values = sink.rows("ItemValues")
        self._value_map = sink.rows("ItemValuesMap")
        self._people = sink.rows("Peoples")
        self._people_map = sink.rows("PeopleBaseItemMap")
        self._userdata = sink.rows("UserData")
        self._keyframes = sink.rows("KeyframeData")
        self._trickplay = sink.rows("TrickplayInfos")
        self._segments = sink.rows("MediaSegments")
        self._attachments = sink.rows("AttachmentStreamInfos")
        self._fields = sink.rows("BaseItemMetadataFields")
        self._trailer_types = sink.rows("BaseItemTrailerTypes")
        self._value_ids: dict[tuple[int, str], str] = {}
        self._person_ids: dict[int, str] = {}
        self._people_pool = min(PEOPLE_POOL_MAX, max(40, items // 4))
        shares = (0.4, 0.25, 0.12)
        self._shares = tuple((uid, shares[i] if i < len(shares) else 0.06) for i, uid in enumerate(user_ids))

    # -- tags and people --------------------------------------------------------------------------

    def item_values(self, item_id: str, kind: int, values: Iterable[str]) -> None:
        """ItemValuesMap rows, creating each (Type, Value) in ItemValues once: the unique index holds."""
        ids = self._value_ids
        for value in values:
            value_id = ids.get((kind, value))
            if value_id is None:
                value_id = ids[(kind, value)] = stable_guid(self.mk.seed, kind, value)
                self._values.append((value_id, kind, value, clean_value(value)))
            self._value_map.append((item_id, value_id))

    def _person(self, index: int) -> str:
        person_id = self._person_ids.get(index)
        if person_id is None:
            person_id = self._person_ids[index] = stable_guid(self.mk.seed, "person", index)
            self._people.append((person_id, person_name(index), _PERSON_TYPES[index % 10]))
        return person_id

    def cast(self, item_id: str, actors: int, crew: bool) -> None:
        """PeopleBaseItemMap rows: popular people recur (skewed picks), crew roles by job title."""
        mk, tens = self.mk, self._people_pool // 10
        picks: list[tuple[int, str]] = []
        if crew:
            for offset in (0, 1, 3) if mk.random() < 0.3 else (0, 1):
                r = mk.random()
                picks.append((10 * int(tens * r * r) + offset, _CREW_ROLES[_PERSON_TYPES[offset]]))
        for _ in range(actors):
            r = mk.random()
            index = 10 * int(tens * r * r) + 4 + mk.below(6)
            roll = mk.random()
            role = ("" if roll < 0.05 else "Self" if roll < 0.1 else "Narrator (voice)" if roll < 0.13
                    else f"{mk.pick(FIRST_NAMES)} {mk.pick(('', 'Jr.', 'the Elder', '(voice)'))}".strip())
            picks.append((index, role))
        seen: set[int] = set()
        for order, (index, role) in enumerate(picks):
            if index in seen:
                continue
            seen.add(index)
            self._people_map.append((item_id, self._person(index), role, order, order))

    def providers(self, item_id: str, pairs: Iterable[tuple[str, str]]) -> None:
        self._providers.extend((item_id, name, value) for name, value in pairs)

    def images(self, item_id: str, folder: str, kinds: Iterable[tuple[int, str, int, int]]) -> None:
        """BaseItemImageInfos: blurhash as UTF-8 bytes in a BLOB; a few without blurhash or date."""
        mk = self.mk
        for image_type, name, width, height in kinds:
            blur = mk.blurhash() if mk.random() < 0.9 else None
            modified = mk.datetime(900) if mk.random() < 0.92 else None
            self._images.append((mk.guid(), blur, modified, height, image_type, item_id, f"{folder}/{name}", width))

    def metadata_fields(self, item_id: str) -> None:
        """A few items have locked metadata fields (MetadataField enum values as the key)."""
        if self.mk.random() < 0.02:
            for field in sorted({self.mk.below(9), self.mk.below(9)}):
                self._fields.append((field, item_id))

    def trailer_type(self, item_id: str) -> None:
        self._trailer_types.append((5, item_id))  # TrailerType.LocalTrailer

    # -- media streams ----------------------------------------------------------------------------

    def video_streams(self, item_id: str, path: str | None, width: int, height: int, hdr: bool,
                      languages: tuple[str, ...], subtitles: int) -> None:
        """One video stream, an audio stream per language, then subtitles (some external files)."""
        mk, v12 = self.mk, self.v12
        hevc = hdr or mk.random() < 0.3
        fps = widen_f32(mk.pick((23.976, 24.0, 25.0, 29.97)) if mk.random() < 0.95 else 59.94)
        video: dict[str, object] = {
            "ItemId": item_id, "StreamIndex": 0, "StreamType": _VIDEO, "Codec": "hevc" if hevc else "h264",
            "Profile": "Main 10" if hevc else "High", "Level": widen_f32(150.0 if hevc else 41.0),
            "PixelFormat": "yuv420p10le" if hdr else "yuv420p", "Width": width, "Height": height,
            "AspectRatio": "16:9" if height * 16 == width * 9 else "2.40:1", "BitDepth": 10 if hdr else 8,
            "BitRate": 4_000_000 + mk.below(60_000_000), "RefFrames": 1, "IsAvc": int(not hevc),
            "IsInterlaced": 0, "IsAnamorphic": 0, "IsDefault": 1, "IsForced": 0, "IsExternal": 0,
            "IsHearingImpaired": 0, "TimeBase": "1/1000", "AverageFrameRate": fps, "RealFrameRate": fps,
            "NalLengthSize": "4", "ColorSpace": "bt2020nc" if hdr else "bt709",
            "ColorTransfer": "smpte2084" if hdr else "bt709", "ColorPrimaries": "bt2020" if hdr else "bt709",
            "Hdr10PlusPresentFlag": int(hdr and mk.random() < 0.3) if hdr else None, "IsOriginal": 0,
        }
        if hdr and mk.random() < 0.5:  # Dolby Vision profile 8.1
            video.update(DvVersionMajor=1, DvVersionMinor=0, DvProfile=8, DvLevel=6, RpuPresentFlag=1,
                         ElPresentFlag=0, BlPresentFlag=1, DvBlSignalCompatibilityId=1)
        self._streams.append(video)
        index = 1
        for number, language in enumerate(languages):
            codec, channels, layout, profile = mk.pick(_AUDIO_CODECS)
            self._streams.append({
                "ItemId": item_id, "StreamIndex": index, "StreamType": _AUDIO, "Codec": codec,
                "Profile": profile, "Channels": channels, "ChannelLayout": layout, "SampleRate": 48000,
                "BitRate": 128_000 * channels, "Language": language, "TimeBase": "1/1000",
                "Title": None if mk.random() < 0.5 else f"{language.upper()} {layout}",
                "IsDefault": int(number == 0), "IsForced": 0, "IsExternal": 0, "IsHearingImpaired": 0,
                "IsOriginal": int(v12 and number == 0),
            })
            index += 1
        for number in range(subtitles):
            external = path is not None and mk.random() < 0.3
            language = mk.language()
            self._streams.append({
                "ItemId": item_id, "StreamIndex": index, "StreamType": _SUBTITLE, "Language": language,
                "Codec": "subrip" if external else mk.pick(("subrip", "ass", "PGSSUB", "mov_text")),
                "Title": mk.pick((None, None, "Forced", "SDH", "Commentary")), "TimeBase": "1/1000",
                "IsForced": int(number == 0 and mk.random() < 0.2), "IsDefault": 0, "IsExternal": int(external),
                "IsHearingImpaired": int(mk.random() < 0.1),
                "Path": f"{path.rsplit('.', 1)[0]}.{language[:2]}.srt" if external and path else None,
                "IsOriginal": 0,
            })
            index += 1
        if mk.random() < 0.04:  # fonts attached to an anime release
            for number, font in enumerate(("NotoSansCJKjp-Regular.otf", "Arial Bold.ttf")):
                self._attachments.append((item_id, index + number, "ttf", None, None, font,
                                          "application/x-truetype-font"))

    def audio_streams(self, item_id: str, flac: bool) -> None:
        """A music track: one audio stream, sometimes embedded cover art."""
        mk = self.mk
        self._streams.append({
            "ItemId": item_id, "StreamIndex": 0, "StreamType": _AUDIO, "Codec": "flac" if flac else "mp3",
            "Channels": 2, "ChannelLayout": "stereo", "SampleRate": 44100 if mk.random() < 0.8 else 96000,
            "BitDepth": 16 if flac else None, "BitRate": 900_000 if flac else 320_000, "TimeBase": "1/44100",
            "IsDefault": 0, "IsForced": 0, "IsExternal": 0, "IsOriginal": 0,
        })
        if mk.random() < 0.5:
            self._streams.append({
                "ItemId": item_id, "StreamIndex": 1, "StreamType": _EMBEDDED_IMAGE, "Codec": "mjpeg",
                "Width": 600, "Height": 600, "Comment": "Cover (front)", "PixelFormat": "yuvj420p",
                "IsDefault": 0, "IsForced": 0, "IsExternal": 0, "IsOriginal": 0,
            })

    def chapters(self, item_id: str, runtime: int, count: int) -> None:
        """Chapters; without an extracted image Jellyfin keeps DateTime.MinValue as the date."""
        mk, step = self.mk, runtime // max(count, 1)
        style = mk.pick(_CHAPTER_NAMES)
        for index in range(count):
            name = style.format(index + 1) if mk.random() < 0.9 else None
            if mk.random() < 0.4:
                ticks = index * step
                image, date = f"/config/data/chapters/{n_format(item_id)}/{ticks}.jpg", mk.datetime(500)
            else:
                image, date = None, MIN_DATETIME
            self._chapters.append((item_id, index, index * step, name, image, date))

    def video_extras(self, item_id: str, runtime: int, width: int, height: int, episode: bool) -> None:
        """Keyframes, trickplay and intro/outro segments for a share of the videos."""
        mk = self.mk
        if mk.random() < 0.05:
            step = max(runtime // 200, 20_020_000)
            ticks = ",".join(str(t) for t in range(0, runtime, step))
            self._keyframes.append((item_id, runtime, f"[{ticks}]"))
        if mk.random() < 0.15:
            tile_height = 320 * height // width
            count = max(1, runtime // (10 * TICKS_PER_SECOND))
            self._trickplay.append((item_id, 320, tile_height, 10, 10, count, 10000, 70_000 + mk.below(200_000)))
        if episode and mk.random() < 0.3:
            start = mk.below(120) * TICKS_PER_SECOND
            self._segments.append((mk.guid(), start + 85 * TICKS_PER_SECOND, item_id, _SEGMENT_PROVIDER, start, 5))
            if mk.random() < 0.5:
                end = runtime - mk.below(60) * TICKS_PER_SECOND
                self._segments.append((mk.guid(), end, item_id, _SEGMENT_PROVIDER, end - 90 * TICKS_PER_SECOND, 4))

    # -- user data --------------------------------------------------------------------------------

    def user_data(self, item_id: str, key: str, runtime: int | None, playable: bool) -> None:
        """Per-user played state for a share of the items; folders mostly get favourites only."""
        mk, rows = self.mk, self._userdata
        for user_id, share in self._shares:
            if mk.random() >= (share if playable else share * 0.3):
                continue
            roll = mk.random() if playable else 1.0
            favourite = int(mk.random() < 0.1)
            likes = None if mk.random() < 0.9 else int(mk.random() < 0.7)
            rating = None if mk.random() < 0.95 else float(mk.below(21)) / 2
            if roll < 0.65:
                rows.append((item_id, user_id, key, None if mk.random() < 0.7 else 1, favourite,
                             mk.datetime(700), likes, 1 + mk.below(5), 0, 1, rating,
                             None if mk.random() < 0.6 else -1, None))
            elif roll < 0.8 and runtime:
                rows.append((item_id, user_id, key, 1, favourite, mk.datetime(60), likes, 0,
                             mk.below(runtime), 0, rating, mk.pick((None, -1, 2)), None))
            else:
                rows.append((item_id, user_id, key, None, favourite or int(not playable), None, likes, 0, 0, 0,
                             rating, None, None))

    def detached_user_data(self, count: int) -> None:
        """UserData re-pointed at the placeholder item after its item was deleted, with a RetentionDate."""
        mk = self.mk
        for number in range(count):
            user_id = self._shares[number % len(self._shares)][0]
            retention = mk.later(mk.now, 30)
            self._userdata.append((PLACEHOLDER_ID, user_id, n_format(mk.guid()), None, 0, mk.datetime(400),
                                   None, 1 + mk.below(3), 0, 1, None, None, retention))

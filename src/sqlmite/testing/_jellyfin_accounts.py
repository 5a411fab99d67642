"""Users and the security/preference tables of a Jellyfin database.

Small tables, so rows are dicts keyed by column name: readable, and version differences (10.11's
nullable Permissions/Preferences.UserId plus their shadow ``*_Guid`` columns) need no special case.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from sqlmite.testing._jellyfin_values import (
    EMPTY_GUID,
    Maker,
    Sink,
    format_datetime,
    n_format,
    stable_guid,
)

_USERNAMES = ("admin", "Zoë", "josé", "李雷", "Ødegaard", "kids", "Ана", "guest")
_AUTH_PROVIDER = "Jellyfin.Server.Implementations.Users.DefaultAuthenticationProvider"
_RESET_PROVIDER = "Jellyfin.Server.Implementations.Users.DefaultPasswordResetProvider"
_PERMISSION_KINDS = 24  # PermissionKind: IsAdministrator (0) .. EnableLyricManagement (23)
_PREFERENCE_KINDS = 13  # PreferenceKind: BlockedTags (0) .. AllowedTags (12)
_ADMIN_ONLY = {0, 3, 5, 10, 18, 21, 22, 23}  # kinds only the administrator gets
_OFF_FOR_ALL = {1, 2, 20}  # IsHidden, IsDisabled, ForceRemoteSourceTranscoding
_APPS = (
    ("Jellyfin Web", "10.11.0", "Firefox"), ("Jellyfin Web", "10.11.0", "Chrome"),
    ("Jellyfin Android", "2.6.3", "Pixel 8"), ("Swiftfin", "1.3", "iPhone de José"),
    ("Jellyfin Media Player", "1.12.0", "Salon 📺"), ("Infuse-Direct", "8.1", "Apple TV"),
    ("Findroid", "0.15.2", "Galaxy Tab"),
)
_HOME_SECTIONS = (1, 4, 5, 3, 7, 6, 0, 0, 0, 0)  # HomeSectionType per order, as the web client saves


@dataclass(frozen=True)
class Accounts:
    """What the library builder needs from the users: their ids and names."""

    user_ids: tuple[str, ...]
    names: tuple[str, ...]


def _username(index: int) -> str:
    base = _USERNAMES[index % len(_USERNAMES)]
    return base if index < len(_USERNAMES) else f"{base}{index // len(_USERNAMES) + 1}"


def _password(mk: Maker) -> str:
    """Jellyfin's PBKDF2 hash string (uppercase hex salt and hash)."""
    salt = "%064X" % mk.rng.getrandbits(256)
    digest = "%0128X" % mk.rng.getrandbits(512)
    return f"$PBKDF2-SHA512$iterations=210000${salt}${digest}"


def make_users(mk: Maker, sink: Sink, count: int) -> Accounts:
    """Users with a full set of Permissions and Preferences each, like Jellyfin's ``CreateUser``."""
    users = sink.records("Users")
    permissions = sink.records("Permissions")
    preferences = sink.records("Preferences")
    ids: list[str] = []
    names: list[str] = []
    for index in range(count):
        user_id = mk.guid()
        name = _username(index)
        admin = index == 0
        kid = name.startswith("kids")
        seen, frac = mk.instant(30)
        users.append({
            "Id": user_id, "Username": name, "NormalizedUsername": name.upper(),
            "AuthenticationProviderId": _AUTH_PROVIDER, "PasswordResetProviderId": _RESET_PROVIDER,
            "Password": _password(mk) if index != 5 else None,
            "AudioLanguagePreference": None if index % 2 else "eng",
            "SubtitleLanguagePreference": "fre" if index == 2 else None,
            "CastReceiverId": "F007D354" if index % 3 == 0 else None,
            "DisplayCollectionsView": 0, "DisplayMissingEpisodes": int(index == 1),
            "EnableAutoLogin": 0, "EnableLocalPassword": 0, "EnableNextEpisodeAutoPlay": 1,
            "EnableUserPreferenceAccess": 1, "HidePlayedInLatest": 1, "InternalId": index + 1,
            "InvalidLoginAttemptCount": 2 if index == 2 else 0,
            "LastActivityDate": format_datetime(seen, frac),
            "LastLoginDate": format_datetime(seen - 3600, frac) if index != 4 else None,
            "LoginAttemptsBeforeLockout": 3 if index == 2 else -1,
            "MaxActiveSessions": 0, "MaxParentalRatingScore": 10 if kid else None,
            "MaxParentalRatingSubScore": None, "MustUpdatePassword": 0,
            "PlayDefaultAudioTrack": 1, "RememberAudioSelections": 1, "RememberSubtitleSelections": 1,
            "RemoteClientBitrateLimit": 8_000_000 if index == 1 else None,
            "RowVersion": 1 + mk.below(40), "SubtitleMode": 4 if index == 2 else 0,
            "SyncPlayAccess": 2 if kid else 0,
        })
        for kind in range(_PERMISSION_KINDS):
            granted = (admin or kind not in _ADMIN_ONLY) and kind not in _OFF_FOR_ALL
            permissions.append({"Kind": kind, "RowVersion": 0, "UserId": user_id, "Value": int(granted)})
        for kind in range(_PREFERENCE_KINDS):
            value = ""
            if kind == 0 and kid:
                value = "violence,horror"  # BlockedTags
            elif kind == 10 and kid:
                value = "Movie,Series"  # BlockUnratedItems
            preferences.append({"Kind": kind, "RowVersion": 0, "UserId": user_id, "Value": value})
        ids.append(user_id)
        names.append(name)
    return Accounts(tuple(ids), tuple(names))


def make_account_extras(mk: Maker, sink: Sink, accounts: Accounts, folders: list[str], items: int) -> None:
    """Schedules, avatars, display preferences, devices, API keys and an activity log.

    ``folders`` are the library (CollectionFolder) ids the display preferences point to.
    """
    ids, names = accounts.user_ids, accounts.names
    schedules = sink.records("AccessSchedules")
    if len(ids) > 2:  # a limited user: weekdays 07:30-21:45, weekends until 23:30 (REAL hours)
        schedules.append({"UserId": ids[2], "DayOfWeek": 8, "StartHour": 7.5, "EndHour": 21.75})
        schedules.append({"UserId": ids[2], "DayOfWeek": 9, "StartHour": 9.0, "EndHour": 23.5})
    avatars = sink.records("ImageInfos")
    for index in range(0, len(ids), 2):
        avatars.append({"LastModified": mk.datetime(300), "UserId": ids[index],
                        "Path": f"/config/data/users/{n_format(ids[index])}/profile.png"})
    display = sink.records("DisplayPreferences")
    sections = sink.records("HomeSection")
    item_display = sink.records("ItemDisplayPreferences")
    custom = sink.records("CustomItemDisplayPreferences")
    settings_id = stable_guid("usersettings")
    next_display = 1
    for index, user_id in enumerate(ids):
        for item_id in (settings_id, *folders[:2]):
            display.append({
                "Id": next_display, "UserId": user_id, "ItemId": item_id, "Client": "emby",
                "ShowSidebar": 0, "ShowBackdrop": 1, "ScrollDirection": 0,
                "IndexBy": None if item_id == settings_id else 0, "SkipForwardLength": 30000,
                "SkipBackwardLength": 10000, "ChromecastVersion": 0, "EnableNextVideoInfoOverlay": 1,
                "DashboardTheme": "dark" if index == 0 and item_id == settings_id else None,
                "TvHome": None,
            })
            if item_id == settings_id:
                for order, kind in enumerate(_HOME_SECTIONS):
                    sections.append({"DisplayPreferencesId": next_display, "Order": order, "Type": kind})
            next_display += 1
        for folder in folders:
            item_display.append({
                "UserId": user_id, "ItemId": folder, "Client": "emby", "ViewType": 1 + mk.below(3),
                "RememberIndexing": 0, "IndexBy": None, "RememberSorting": int(index == 0),
                "SortBy": "SortName" if mk.random() < 0.7 else "DateCreated,SortName",
                "SortOrder": mk.below(2),
            })
        pairs: list[tuple[str, str, str | None]] = [
            (settings_id, "chromecastVersion", "stable"),
            (settings_id, "enableNextVideoInfoOverlay", "False"),
            (settings_id, "homesection0", "smalllibrarytiles"),
            (settings_id, "homesection1", "resume"),
            (settings_id, "dashboardTheme", None),
        ] + [(folder, f"landing-{n_format(folder)}", "suggestions") for folder in folders[:2]]
        for item_id, key, value in pairs:
            custom.append({"UserId": user_id, "ItemId": item_id, "Client": "emby", "Key": key, "Value": value})
    _devices(mk, sink, ids)
    keys = sink.records("ApiKeys")
    for name in ("Sonarr", "Home Assistant"):
        created, frac = mk.instant(400)
        keys.append({"DateCreated": format_datetime(created, frac), "Name": name, "AccessToken": mk.hex32(),
                     "DateLastActivity": mk.later(created, 30)})
    _activity(mk, sink, ids, names, 10 + items // 500)


def _devices(mk: Maker, sink: Sink, ids: tuple[str, ...]) -> None:
    devices = sink.records("Devices")
    options = sink.records("DeviceOptions")
    for index, user_id in enumerate(ids):
        for number in range(1 + (index + mk.below(3)) % 3):
            app, version, name = _APPS[(index * 3 + number) % len(_APPS)]
            device_id = base64.b64encode(f"{name}|{mk.hex32()}".encode()).decode()
            created, frac = mk.instant(600)
            devices.append({
                "UserId": user_id, "AccessToken": mk.hex32(), "AppName": app, "AppVersion": version,
                "DeviceName": name, "DeviceId": device_id, "IsActive": int(number == 0),
                "DateCreated": format_datetime(created, frac), "DateModified": mk.later(created, 20),
                "DateLastActivity": mk.later(created, 200),
            })
            options.append({"DeviceId": device_id,
                            "CustomName": "Télé du salon" if "Salon" in name else None})


def _activity(mk: Maker, sink: Sink, ids: tuple[str, ...], names: tuple[str, ...], count: int) -> None:
    """A log in time order (Id grows with DateCreated), mostly sessions, some failures."""
    logs = sink.records("ActivityLogs")
    moment = mk.now - 60 * 86400
    for _ in range(count):
        moment += 1 + mk.below(max(2, 60 * 86400 // count))
        stamp = format_datetime(moment, mk.below(10_000_000))
        who = mk.below(len(ids))
        address = f"IP address: 192.168.1.{10 + mk.below(200)}"
        roll = mk.random()
        if roll < 0.1:
            logs.append({"Name": "Failed login try from Firefox", "Overview": None, "ShortOverview": address,
                         "Type": "AuthenticationFailed", "UserId": EMPTY_GUID, "ItemId": None,
                         "DateCreated": stamp, "LogSeverity": 4, "RowVersion": 0})
        elif roll < 0.15:
            logs.append({"Name": "Scan Media Library completed", "Overview": None, "ShortOverview": None,
                         "Type": "TaskCompleted", "UserId": EMPTY_GUID, "ItemId": None,
                         "DateCreated": stamp, "LogSeverity": 2, "RowVersion": 0})
        else:
            kind, verb = (("SessionStarted", "is online from") if roll < 0.6
                          else ("SessionEnded", "has disconnected from"))
            logs.append({"Name": f"{names[who]} {verb} {mk.pick(_APPS)[2]}", "Overview": None,
                         "ShortOverview": address, "Type": kind, "UserId": ids[who], "ItemId": None,
                         "DateCreated": stamp, "LogSeverity": 2, "RowVersion": 0})

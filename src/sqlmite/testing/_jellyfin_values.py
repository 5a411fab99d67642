"""Value makers for the Jellyfin-shaped generator: values in the exact text/number forms Jellyfin stores.

Kept apart from the row builders so the storage formats (GUID text, EF Core datetime text, float32
widening, blurhash bytes) are defined once, and so the tests can check them against one definition.
Everything draws from one seeded ``random.Random``: the same seed gives the same database.
"""

from __future__ import annotations

import hashlib
import random
import struct
import unicodedata
from datetime import date, timedelta
from functools import lru_cache
from typing import Protocol

TICKS_PER_SECOND = 10_000_000
""".NET ticks (100 ns) per second: RunTimeTicks, StartPositionTicks and the datetime fraction use them."""

MIN_DATETIME = "0001-01-01 00:00:00"
"""``DateTime.MinValue`` as EF Core writes it: Jellyfin stores it where a date was never set."""

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000001"

_EPOCH = date(1970, 1, 1)
_F32 = struct.Struct("<f")
_BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
_BASE83_BYTES = bytes(ord(_BASE83[b % 83]) for b in range(256))  # random byte -> blurhash digit

# Title words in several scripts, so names exercise accents, CJK, Cyrillic and emoji.
ADJECTIVES = (
    "Silent", "Crimson", "Last", "Hidden", "Broken", "Golden", "Midnight", "Electric", "Frozen",
    "Wild", "Lost", "Distant", "Northern", "Velvet", "Burning", "Hollow", "Secret", "Eternal",
    "Fabuleux", "Éternel", "Über", "Señor", "Dernière", "Schöne", "Café", "Niño", "Große", "Ça",
    "千と", "静かな", "青い", "最後の", "夜の", "東京", "사랑의", "Тихий", "Ωραία", "Ørsted",
)
NOUNS = (
    "River", "Empire", "Garden", "Signal", "Harbor", "Machine", "Kingdom", "Frontier", "Promise",
    "Voyage", "Orchard", "Station", "Mirror", "Lighthouse", "Archive", "Dynasty", "Comet", "Canyon",
    "Destin", "Jardin", "Straße", "Mañana", "Ténèbres", "Fräulein", "Mémoire", "Corazón", "Année",
    "千尋", "神隠し", "夏", "物語", "天気の子", "기억", "Война", "Город", "Ωκεανός", "🎬", "🌊 Tide",
)
FIRST_NAMES = (
    "James", "Maria", "Hiro", "Amélie", "Søren", "José", "Zoë", "Ana", "Chen", "Ingrid", "Kwame",
    "Léa", "Mikhail", "Priya", "Björn", "Chloé", "Dmitri", "Emma", "Fatima", "Günther", "Hana",
    "Isabel", "Jürgen", "Kenji", "Lucía", "Mateo", "Nadia", "Olivier", "Paulo", "Quentin", "Rosa",
    "Sakura", "Tomás", "Ulrike", "Valentina", "Wei", "Xavier", "Yuki", "Zoltán", "Åsa", "Émile",
    "Noémie", "Raúl", "Siobhán", "Thérèse", "Ülkü", "Yasmin", "Aiko", "Benoît", "Carmen", "Darius",
    "Elif", "François", "Gabriel", "Hélène", "Ivan", "Joaquín", "Katarzyna", "Lars", "Minh",
)
LAST_NAMES = (
    "Smith", "García", "Tanaka", "Müller", "Dubois", "Rossi", "Kowalski", "Nguyễn", "Andersson",
    "O'Brien", "Silva", "Ivanova", "Kim", "Papadopoulos", "Novák", "Hansen", "Yılmaz", "Costa",
    "Schröder", "Fernández", "Lefèvre", "Sato", "Jensen", "Moreau", "Bianchi", "Horvát", "Lindqvist",
    "Okafor", "Petrović", "Quiñones", "Rahman", "Svensson", "Takahashi", "Urquhart", "Vasquez",
    "Wójcik", "Xu", "Yamamoto", "Zhang", "Ångström", "Çelik", "Đorđević", "Łukasz", "Ødegaard",
    "Šimůnek", "Żak", "Fontaine", "Gallagher", "Haddad", "Iglesias", "Jovanović", "Kaur", "Laurent",
    "Mendoza", "Nakamura", "Olsen", "Pereira", "Reyes", "Sánchez", "Tremblay", "Vogel", "Weiß",
    "Abe", "Barbosa", "Castillo", "De Luca", "Eriksen", "Fischer", "Gómez", "Hoffmann", "Ishikawa",
    "李", "王", "山田", "박", "Соколов", "Παππάς", "Кузнецова", "Nakajima", "Ortiz",
)
BAND_WORDS = (
    "Echo", "Neon", "Velvet", "Paper", "Glass", "Static", "Lunar", "Copper", "Atlas", "Honey", "Iron",
    "Marble", "Nova", "Opal", "Pilot", "Quartz", "Radio", "Solar", "Tiger", "Umbra", "Vapor", "Wolf",
    "Sigur", "Björk", "Røyksopp", "Mötley", "Blümchen", "Café", "Señorita", "東京", "少女", "방탄", "Кино",
)
BAND_SUFFIXES = (
    "", " Collective", " & The Waves", " Orchestra", " Trio", " Project", " Quartet", " Sound", " Club",
    " Ensemble", " Brothers", " Sisters", "s", " Machine", " Society", " Experience", " Band", " Unit",
)
GENRES = (
    "Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Family", "Fantasy",
    "History", "Horror", "Music", "Mystery", "Romance", "Science Fiction", "Thriller", "War", "Western",
    "Anime", "Sci-Fi & Fantasy", "Action & Adventure", "Rock", "Jazz", "Électronique", "Hip-Hop",
    "Klassik", "J-Pop", "Bossa Nova", "Ambient", "Soundtrack",
)
STUDIOS = (
    "Warner Bros. Pictures", "Universal Pictures", "Studio Ghibli", "A24", "Toho", "Pathé", "Gaumont",
    "BBC", "HBO", "Netflix", "Canal+", "Constantin Film", "StudioCanal", "Legendary Pictures",
    "Madhouse", "Kyoto Animation", "Bad Robot", "Amblin Entertainment", "Lionsgate", "Paramount",
    "20th Century Studios", "Columbia Pictures", "Sony Pictures", "Blue Sky", "Aardman", "DreamWorks",
    "Cinémathèque", "Filmes do Brasil", "東映アニメーション", "CJ Entertainment",
)
TAGS = (
    "4K", "HDR", "based on novel or book", "time travel", "dystopia", "coming of age", "heist",
    "friendship", "revenge", "space", "musical", "road trip", "remake", "sequel", "anthology",
    "biography", "courtroom", "cyberpunk", "kaiju", "samurai", "film noir", "whodunit", "zombie",
    "post-apocalyptic", "found footage", "mockumentary", "ensemble cast", "love triangle", "🎃 halloween",
    "Noël",
)
COUNTRIES = (
    "United States of America", "United Kingdom", "Japan", "France", "Germany", "South Korea",
    "Canada", "Spain", "Italy", "Brazil", "México", "Sverige", "Türkiye", "中国",
)
OVERVIEW_SENTENCES = (
    "A reluctant hero must cross the wasteland to deliver a message that could end the war.",
    "Two estranged siblings return to their childhood home and uncover a family secret.",
    "In a city that never sleeps, a detective chases a thief who leaves no trace.",
    "Une jeune femme décide de changer la vie des gens qui l'entourent, à Montmartre.",
    "Ein alter Uhrmacher entdeckt, dass seine Uhren die Zukunft zeigen.",
    "Un niño y su abuelo emprenden un viaje inolvidable por la costa.",
    "少女は不思議な町に迷い込み、両親を救うために働き始める。",
    "一位年轻的厨师在小镇上开了一家面馆，改变了所有人的生活。",
    "평범한 회사원이 우연히 시간을 멈추는 능력을 얻게 된다.",
    "Группа друзей отправляется в горы и находит заброшенную станцию.",
    "The crew of a deep-space freighter answers a distress call — and regrets it. 🚀",
    "Based on a true story, told across three decades and two continents.",
    "A documentary about the people who keep the lighthouses of the North Atlantic running.",
    "When the music stops, the dancers keep going. 💃",
    "It's a quiet town, until the circus comes back.",
)
TAGLINES = (
    "Every legend has a beginning.", "Some doors should stay closed.", "L'amour n'attend pas.",
    "The truth is out there.", "Nobody gets out alive.", "運命は変えられる。", "One night. One chance.",
)
LANGUAGES = ("eng", "jpn", "fre", "ger", "spa", "kor", "ita", "rus", "chi", "por")
ISO2 = {"eng": "en", "jpn": "ja", "fre": "fr", "ger": "de", "spa": "es", "kor": "ko", "ita": "it",
        "rus": "ru", "chi": "zh", "por": "pt"}
RATINGS = (("G", 0), ("PG", 10), ("PG-13", 13), ("R", 17), ("NC-17", 18), ("TV-MA", 17),
           ("TV-14", 14), ("FSK-12", 12), ("15", 15))


def widen_f32(value: float) -> float:
    """A C# ``float`` column stored by EF Core: the double that the single-precision value widens to.

    That is why Jellyfin files hold e.g. ``7.300000190734863`` for a CommunityRating of 7.3.
    """
    return _F32.unpack(_F32.pack(value))[0]


@lru_cache(maxsize=65536)
def _day_text(days: int) -> str:
    return (_EPOCH + timedelta(days=days)).isoformat() + " "


@lru_cache(maxsize=1)
def _clock_texts() -> tuple[str, ...]:
    """``HH:mm:ss`` for every second of a day: formatting dates is the generator's hottest path."""
    return tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400))


def format_datetime(unix_seconds: int, ticks: int = 0) -> str:
    """EF Core's SQLite DateTime text ``yyyy-MM-dd HH:mm:ss.FFFFFFF``.

    Space separator, no ``T`` and no ``Z``; the 7-digit fraction (``ticks``, 100 ns units) loses its
    trailing zeros, and the dot goes too when the fraction is zero.
    """
    days, rest = divmod(unix_seconds, 86400)
    text = _day_text(days) + _clock_texts()[rest]
    if ticks:
        return f"{text}.{ticks:07d}".rstrip("0")
    return text


@lru_cache(maxsize=8192)
def clean_value(value: str) -> str:
    """Approximates Jellyfin's ``GetCleanValue``: diacritics removed, lower case, for CleanName/CleanValue."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


def sort_name(name: str) -> str:
    """Approximates Jellyfin's SortName: leading article dropped, lower case."""
    lowered = name.lower()
    for article in ("the ", "a ", "an "):
        if lowered.startswith(article):
            return lowered[len(article):]
    return lowered


def n_format(guid: str) -> str:
    """.NET ``Guid.ToString("N")``: 32 lowercase hex digits (PresentationUniqueKey, legacy ids)."""
    return guid.replace("-", "").lower()


def stable_guid(*parts: object) -> str:
    """A GUID derived from a name, like Jellyfin's ``GetMD5()`` ids: pool entries need no storage."""
    h = hashlib.md5("|".join(map(str, parts)).encode()).hexdigest().upper()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Sink(Protocol):
    """Where the row builders put rows: per-table buffers that the driver flushes in batches."""

    def rows(self, table: str) -> list[tuple[object, ...]]:
        """Buffer for tuples in the builder's declared column order for ``table``."""
        ...

    def records(self, table: str) -> list[dict[str, object]]:
        """Buffer for dicts keyed by column name; absent keys are stored as NULL."""
        ...

    def has(self, table: str) -> bool:
        """Whether this schema version has ``table`` (LinkedChildren is 12.0 only)."""
        ...

    def flush_if_full(self) -> None:
        """Write the buffers out when they hold enough rows; keeps memory flat at any size."""
        ...


class Maker:
    """Seeded source of random values in Jellyfin's storage forms."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.random = self.rng.random
        # Everything happens in a window before this instant, so no value depends on the clock.
        self.now = 1_767_225_600 - (seed % 1000) * 86400  # 2026-01-01 UTC, moved back per seed

    def guid(self) -> str:
        """Uppercase 36-char GUID text, as Microsoft.Data.Sqlite binds a ``Guid``."""
        h = "%032X" % self.rng.getrandbits(128)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def hex32(self) -> str:
        """``Guid.NewGuid().ToString("N")``: access tokens and provider ids."""
        return "%032x" % self.rng.getrandbits(128)

    def pick(self, seq: tuple[str, ...] | list[str]) -> str:
        return seq[int(self.random() * len(seq))]

    def below(self, n: int) -> int:
        """Uniform integer in ``[0, n)``; cheaper than ``randrange`` on the hot paths."""
        return int(self.random() * n)

    def sample(self, seq: tuple[str, ...], k: int) -> list[str]:
        return self.rng.sample(seq, k)

    def instant(self, days_back: float) -> tuple[int, int]:
        """A UTC instant within ``days_back`` days before ``now``, with a 7-digit tick fraction."""
        seconds = self.now - int(self.random() * days_back * 86400)
        return seconds, int(self.random() * TICKS_PER_SECOND)

    def datetime(self, days_back: float = 1500.0) -> str:
        """Like ``DateTime.UtcNow`` stored by EF Core: almost always a full 7-digit fraction."""
        return format_datetime(*self.instant(days_back))

    def later(self, text_seconds: int, max_days: float) -> str:
        return format_datetime(text_seconds + int(self.random() * max_days * 86400),
                               int(self.random() * TICKS_PER_SECOND))

    def premiere(self, year: int) -> str:
        """A release date: midnight UTC, so the fraction and its dot are absent."""
        day = date(year, 1, 1) + timedelta(days=self.below(365))
        return f"{day.isoformat()} 00:00:00"

    def title(self) -> str:
        return f"{self.pick(ADJECTIVES)} {self.pick(NOUNS)}"

    def overview(self) -> str | None:
        """Most items have an overview; some have none (NULL, not empty text)."""
        if self.random() < 0.15:
            return None
        return " ".join(self.pick(OVERVIEW_SENTENCES) for _ in range(1 + self.below(3)))

    def rating(self) -> float:
        """CommunityRating: a float32 value like 7.3, widened to double."""
        return widen_f32(round(4.0 + self.random() * 5.5, 1))

    def blurhash(self) -> bytes:
        """Jellyfin keeps the blurhash string's UTF-8 bytes in a BLOB column."""
        x, y = 3 + self.below(3), 3 + self.below(2)
        size = 6 + 2 * (x * y - 1)
        head = _BASE83[(x - 1) + (y - 1) * 9].encode()
        return head + self.rng.randbytes(size - 1).translate(_BASE83_BYTES)

    def language(self) -> str:
        return LANGUAGES[0] if self.random() < 0.55 else self.pick(LANGUAGES)


def person_name(index: int) -> str:
    """Unique person name for a pool index: first x last, then a middle initial beyond that."""
    first, rest = index % len(FIRST_NAMES), index // len(FIRST_NAMES)
    # Shifting the last name by the first name's position mixes them; still one name per index.
    last, middle = (rest + first * 13) % len(LAST_NAMES), rest // len(LAST_NAMES)
    initial = f" {chr(ord('A') + middle - 1)}." if middle else ""
    return f"{FIRST_NAMES[first]}{initial} {LAST_NAMES[last]}"


PEOPLE_POOL_MAX = len(FIRST_NAMES) * len(LAST_NAMES) * 27


def artist_name(index: int) -> str:
    """Unique artist name for a pool index."""
    a, rest = index % len(BAND_WORDS), index // len(BAND_WORDS)
    b, rest = (rest + a * 7) % len(BAND_WORDS), rest // len(BAND_WORDS)
    suffix, number = rest % len(BAND_SUFFIXES), rest // len(BAND_SUFFIXES)
    name = f"{BAND_WORDS[a]} {BAND_WORDS[b]}{BAND_SUFFIXES[suffix]}"
    return f"{name} {number + 1}" if number else name

"""SQLite's date and time functions as PostgreSQL functions, step by step as SQLite's date.c.

``date()``, ``time()``, ``datetime()``, ``julianday()``, ``unixepoch()`` and ``strftime()`` on
table data must give SQLite's answers, including its parsing of time strings (``YYYY-MM-DD
HH:MM:SS.SSS``, a ``T`` or blanks between, ``+HH:MM`` / ``Z`` zones, time-only strings on
2000-01-01, julian day numbers, NULL for anything else), its integer arithmetic on the julian day
in milliseconds, its normalisation of impossible days (2023-02-31 is 2023-03-03) and the
modifiers ``±N days|hours|minutes|seconds|months|years``, ``start of day|month|year`` and
``unixepoch``. PostgreSQL's own date types parse and round differently, so none is used: the
state ``sqlmite.dt`` mirrors date.c's ``DateTime`` and each function below is one of its steps.
The translator (``translate/datetime.py``) only calls them with formats and modifiers it knows.
"""

from __future__ import annotations

from sqlmite.mapping.ddl import Statement

DATETIME_FUNCTIONS: tuple[Statement, ...] = (
    Statement("""DO $$ BEGIN
  CREATE TYPE sqlmite.dt AS (jd bigint, y int, mo int, d int, h int, mi int, s float8, tz int,
                             has_jd boolean, has_ymd boolean, has_hms boolean, has_tz boolean, raw float8);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$""", "type sqlmite.dt"),
    # computeJD: the julian day in milliseconds from Y-M-D h:m:s (C integer arithmetic).
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.dt_jd(t sqlmite.dt) RETURNS sqlmite.dt
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  yy int; mm int; dd int; a int; b int; x1 bigint; x2 bigint;
BEGIN
  IF t IS NULL OR t.has_jd THEN RETURN t; END IF;
  IF t.has_ymd THEN yy := t.y; mm := t.mo; dd := t.d; ELSE yy := 2000; mm := 1; dd := 1; END IF;
  IF yy < -4713 OR yy > 9999 OR t.raw IS NOT NULL THEN RETURN NULL; END IF;
  IF mm <= 2 THEN yy := yy - 1; mm := mm + 12; END IF;
  a := yy / 100;
  b := 2 - a + (a / 4);
  x1 := (36525::bigint * (yy + 4716)) / 100;
  x2 := (306001::bigint * (mm + 1)) / 10000;
  t.jd := trunc(((x1 + x2 + dd + b)::float8 - 1524.5) * 86400000)::bigint;
  t.has_jd := true;
  IF t.has_hms THEN
    t.jd := t.jd + t.h * 3600000 + t.mi * 60000 + trunc(t.s * 1000 + 0.5)::bigint;
    IF t.has_tz THEN
      t.jd := t.jd - t.tz * 60000;
      t.has_ymd := false; t.has_hms := false; t.has_tz := false;
    END IF;
  END IF;
  RETURN t;
END $$""", "function sqlmite.dt_jd"),
    # parseHhMmSs + parseTimezone on the rest of a string; NULL when it is not one.
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.dt_hms(z text, t sqlmite.dt) RETURNS sqlmite.dt
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  m text[]; rest text; ms float8 := 0; scale float8 := 1; c text; sgn int;
BEGIN
  m := regexp_match(z, '^([0-9]{2}):([0-9]{2})(.*)$');
  IF m IS NULL OR m[1]::int > 24 OR m[2]::int > 59 THEN RETURN NULL; END IF;
  t.h := m[1]::int; t.mi := m[2]::int; rest := m[3]; t.s := 0;
  IF left(rest, 1) = ':' THEN
    m := regexp_match(rest, '^:([0-9]{2})(.*)$');
    IF m IS NULL OR m[1]::int > 59 THEN RETURN NULL; END IF;
    t.s := m[1]::int; rest := m[2];
    IF rest ~ '^\\.[0-9]' THEN
      rest := substr(rest, 2);
      WHILE rest ~ '^[0-9]' LOOP
        ms := ms * 10.0 + ascii(rest) - 48; scale := scale * 10.0; rest := substr(rest, 2);
      END LOOP;
      -- SQLite truncates sub-millisecond digits (date.c: "problems with sub-milliseconds rounding")
      t.s := t.s + least(ms / scale, 0.999);
    END IF;
  END IF;
  IF t.h = 24 AND (t.mi > 0 OR t.s > 0) THEN RETURN NULL; END IF;  -- 24:00 is the only hour-24 time
  t.has_jd := false; t.raw := NULL; t.has_hms := true;
  -- parseTimezone
  rest := ltrim(rest, E' \\t\\n\\r\\f\\v');
  t.tz := 0;
  c := left(rest, 1);
  IF c = '' THEN
    t.has_tz := t.h = 24; RETURN t;
  ELSIF c IN ('Z', 'z') THEN
    rest := substr(rest, 2);
  ELSIF c IN ('+', '-') THEN
    sgn := CASE WHEN c = '-' THEN -1 ELSE 1 END;
    m := regexp_match(substr(rest, 2), '^([0-9]{2}):([0-9]{2})(.*)$');
    IF m IS NULL OR m[1]::int > 14 OR m[2]::int > 59 THEN RETURN NULL; END IF;
    t.tz := sgn * (m[2]::int + m[1]::int * 60); rest := m[3];
  ELSE
    RETURN NULL;
  END IF;
  IF ltrim(rest, E' \\t\\n\\r\\f\\v') <> '' THEN RETURN NULL; END IF;
  -- SQLite treats 24:00 as a zone does: once the julian day is known, the fields come from it.
  t.has_tz := t.tz <> 0 OR t.h = 24;
  RETURN t;
END $$""", "function sqlmite.dt_hms"),
    # setRawDateNumber
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.dt_number(r float8) RETURNS sqlmite.dt
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN r IS NULL THEN NULL
            WHEN r >= 0.0 AND r < 5373484.5 THEN
              ROW(trunc(r * 86400000.0 + 0.5)::bigint, 0, 0, 0, 0, 0, r, 0, true, false, false, false, r)::sqlmite.dt
            ELSE ROW(NULL, 0, 0, 0, 0, 0, r, 0, false, false, false, false, r)::sqlmite.dt END
$$""", "function sqlmite.dt_number"),
    # parseDateOrTime: YYYY-MM-DD [time], a time alone, 'now', or a number.
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.dt_text(z text) RETURNS sqlmite.dt
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  t sqlmite.dt := ROW(NULL, 0, 0, 0, 0, 0, 0, 0, false, false, false, false, NULL)::sqlmite.dt;
  m text[]; rest text; timed sqlmite.dt;
BEGIN
  IF z IS NULL THEN RETURN NULL; END IF;
  m := regexp_match(z, '^(-?)([0-9]{4})-([0-9]{2})-([0-9]{2})(.*)$');
  IF m IS NOT NULL AND m[3]::int BETWEEN 1 AND 12 AND m[4]::int BETWEEN 1 AND 31 THEN
    rest := ltrim(m[5], E' \\t\\n\\r\\f\\vT');
    IF rest = '' THEN
      t.has_hms := false;
    ELSE
      timed := sqlmite.dt_hms(rest, t);
      IF timed IS NULL THEN RETURN NULL; END IF;  -- SQLite tries the other forms, which cannot match
      t := timed;
    END IF;
    t.has_jd := false; t.has_ymd := true;
    t.y := CASE WHEN m[1] = '-' THEN -m[2]::int ELSE m[2]::int END; t.mo := m[3]::int; t.d := m[4]::int;
    IF t.has_tz THEN t := sqlmite.dt_jd(t); END IF;
    RETURN t;
  END IF;
  timed := sqlmite.dt_hms(z, t);
  IF NOT (timed IS NULL) THEN RETURN timed; END IF;  -- a row is NULL only when all its fields are
  IF lower(z) = 'now' THEN
    t.jd := floor(extract(epoch FROM statement_timestamp()) * 1000)::bigint + 210866760000000;
    t.has_jd := true;
    RETURN t;
  END IF;
  IF z ~ '^[ \\t\\n\\r\\f\\v]*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?[ \\t\\n\\r\\f\\v]*$' THEN
    RETURN sqlmite.dt_number(trim(z, E' \\t\\n\\r\\f\\v')::float8);
  END IF;
  RETURN NULL;
END $$""", "function sqlmite.dt_text"),
    # computeYMD and computeHMS
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.dt_fields(t sqlmite.dt) RETURNS sqlmite.dt
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  zz int; a int; b int; c int; dd int; e int; x1 int; day_ms int; day_min int;
BEGIN
  IF t IS NULL THEN RETURN NULL; END IF;
  IF NOT t.has_ymd THEN
    IF NOT t.has_jd THEN
      t.y := 2000; t.mo := 1; t.d := 1;
    ELSIF t.jd < 0 OR t.jd > 464269060799999 THEN
      RETURN NULL;
    ELSE
      zz := ((t.jd + 43200000) / 86400000)::int;
      a := trunc((zz - 1867216.25) / 36524.25)::int;
      a := zz + 1 + a - (a / 4);
      b := a + 1524;
      c := trunc((b - 122.1) / 365.25)::int;
      dd := (36525 * (c & 32767)) / 100;
      e := trunc((b - dd) / 30.6001)::int;
      x1 := trunc(30.6001 * e)::int;
      t.d := b - dd - x1;
      t.mo := CASE WHEN e < 14 THEN e - 1 ELSE e - 13 END;
      t.y := CASE WHEN t.mo > 2 THEN c - 4716 ELSE c - 4715 END;
    END IF;
    t.has_ymd := true;
  END IF;
  IF NOT t.has_hms THEN
    t := sqlmite.dt_jd(t);
    IF t IS NULL THEN RETURN NULL; END IF;
    day_ms := ((t.jd + 43200000) % 86400000)::int;
    t.s := (day_ms % 60000) / 1000.0;
    day_min := day_ms / 60000;
    t.mi := day_min % 60;
    t.h := day_min / 60;
    t.raw := NULL;
    t.has_hms := true;
  END IF;
  RETURN t;
END $$""", "function sqlmite.dt_fields"),
    # parseModifier, the modifiers the translator passes on (it refuses others).
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.dt_modify(t sqlmite.dt, z text, idx int) RETURNS sqlmite.dt
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  m text[]; r float8; unit text; rr float8; x int; scale float8;
BEGIN
  IF t IS NULL OR z IS NULL THEN RETURN NULL; END IF;
  IF lower(z) = 'unixepoch' THEN
    IF t.raw IS NULL OR idx > 1 THEN RETURN NULL; END IF;
    r := t.raw * 1000.0 + 210866760000000.0;
    IF r >= 0.0 AND r < 464269060800000.0 THEN
      t.has_ymd := false; t.has_hms := false; t.has_tz := false;
      t.jd := trunc(r + 0.5)::bigint; t.has_jd := true; t.raw := NULL;
      RETURN t;
    END IF;
    RETURN NULL;
  END IF;
  -- weekday N: forward to the next day whose weekday is N (0 = Sunday), the time kept; the
  -- fields are read without their zone, as date.c does.
  m := regexp_match(lower(z), '^weekday ([0-9]+(\.[0-9]*)?)$');
  IF m IS NOT NULL THEN
    r := m[1]::float8;
    IF r >= 7.0 OR r <> trunc(r) THEN RETURN NULL; END IF;
    t := sqlmite.dt_fields(t);
    IF t IS NULL THEN RETURN NULL; END IF;
    t.has_tz := false; t.has_jd := false;
    t := sqlmite.dt_jd(t);
    IF t IS NULL THEN RETURN NULL; END IF;
    x := (((t.jd + 129600000) / 86400000) % 7)::int;
    IF x > r::int THEN x := x - 7; END IF;
    t.jd := t.jd + (r::int - x)::bigint * 86400000;
    t.has_ymd := false; t.has_hms := false; t.has_tz := false;
    RETURN t;
  END IF;
  m := regexp_match(lower(z), '^start of (day|month|year)$');
  IF m IS NOT NULL THEN
    IF NOT t.has_jd AND NOT t.has_ymd AND NOT t.has_hms THEN RETURN NULL; END IF;
    t := sqlmite.dt_fields(t);  -- computeYMD (the HMS are overwritten next)
    IF t IS NULL THEN RETURN NULL; END IF;
    t.has_hms := true; t.h := 0; t.mi := 0; t.s := 0.0; t.raw := NULL; t.has_tz := false; t.has_jd := false;
    IF m[1] = 'month' THEN t.d := 1; ELSIF m[1] = 'year' THEN t.mo := 1; t.d := 1; END IF;
    RETURN t;
  END IF;
  m := regexp_match(z, '^([-+]?[0-9]+(\\.[0-9]*)?|[-+]?\\.[0-9]+)[ \\t\\n\\r\\f\\v]+([A-Za-z]{3,10})$');
  IF m IS NULL THEN RETURN NULL; END IF;
  r := m[1]::float8;
  unit := lower(m[3]);
  IF right(unit, 1) = 's' THEN unit := left(unit, -1); END IF;
  t := sqlmite.dt_jd(t);
  IF t IS NULL THEN RETURN NULL; END IF;
  rr := CASE WHEN r < 0 THEN -0.5 ELSE 0.5 END;
  IF unit = 'second' AND abs(r) < 4.6427e+14 THEN scale := 1.0;
  ELSIF unit = 'minute' AND abs(r) < 7.7379e+12 THEN scale := 60.0;
  ELSIF unit = 'hour' AND abs(r) < 1.2897e+11 THEN scale := 3600.0;
  ELSIF unit = 'day' AND abs(r) < 5373485.0 THEN scale := 86400.0;
  ELSIF unit = 'month' AND abs(r) < 176546.0 THEN
    scale := 2592000.0;
    t := sqlmite.dt_fields(t);
    IF t IS NULL THEN RETURN NULL; END IF;
    t.mo := t.mo + trunc(r)::int;
    x := CASE WHEN t.mo > 0 THEN (t.mo - 1) / 12 ELSE (t.mo - 12) / 12 END;
    t.y := t.y + x; t.mo := t.mo - x * 12;
    t.has_jd := false;
    r := r - trunc(r);
  ELSIF unit = 'year' AND abs(r) < 14713.0 THEN
    scale := 31536000.0;
    t := sqlmite.dt_fields(t);
    IF t IS NULL THEN RETURN NULL; END IF;
    t.y := t.y + trunc(r)::int;
    t.has_jd := false;
    r := r - trunc(r);
  ELSE
    RETURN NULL;
  END IF;
  t := sqlmite.dt_jd(t);
  IF t IS NULL THEN RETURN NULL; END IF;
  t.jd := t.jd + trunc(r * 1000.0 * scale + rr)::bigint;
  t.has_ymd := false; t.has_hms := false; t.has_tz := false;
  RETURN t;
END $$""", "function sqlmite.dt_modify"),
    # The end of isDate: the julian day, in range; one argument normalises an impossible day.
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.dt_done(t sqlmite.dt, modified boolean) RETURNS sqlmite.dt
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  t := sqlmite.dt_jd(t);
  IF t IS NULL OR t.jd < 0 OR t.jd > 464269060799999 THEN RETURN NULL; END IF;
  IF NOT modified AND t.has_ymd AND t.d > 28 THEN t.has_ymd := false; END IF;
  RETURN sqlmite.dt_fields(t);
END $$""", "function sqlmite.dt_done"),
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.dt_date(t sqlmite.dt) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN t IS NULL THEN NULL ELSE
  (CASE WHEN t.y < 0 THEN '-' ELSE '' END) || lpad((abs(t.y) % 10000)::text, 4, '0') || '-' ||
  lpad(t.mo::text, 2, '0') || '-' || lpad(t.d::text, 2, '0') END
$$""", "function sqlmite.dt_date"),
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.dt_time(t sqlmite.dt) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN t IS NULL THEN NULL ELSE
  lpad(t.h::text, 2, '0') || ':' || lpad(t.mi::text, 2, '0') || ':' || lpad((trunc(t.s)::int % 100)::text, 2, '0') END
$$""", "function sqlmite.dt_time"),
    # time()/datetime() after the 'subsec' modifier: seconds with milliseconds, as date.c rounds them.
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.dt_time_subsec(t sqlmite.dt) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN t IS NULL THEN NULL ELSE
  lpad(t.h::text, 2, '0') || ':' || lpad(t.mi::text, 2, '0') || ':' ||
  lpad(((trunc(1000.0 * t.s + 0.5)::int / 1000) % 100)::text, 2, '0') || '.' ||
  lpad((trunc(1000.0 * t.s + 0.5)::int % 1000)::text, 3, '0') END
$$""", "function sqlmite.dt_time_subsec"),
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.dt_year(y int) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
-- printf's %04d: at least four characters, the sign included (-1 is "-001").
SELECT CASE WHEN y < 0 THEN '-' || lpad((-y)::text, greatest(3, length((-y)::text)), '0')
            ELSE lpad(y::text, greatest(4, length(y::text)), '0') END
$$""", "function sqlmite.dt_year"),
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.dt_datetime(t sqlmite.dt) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT sqlmite.dt_date(t) || ' ' || sqlmite.dt_time(t) $$""",
              "function sqlmite.dt_datetime"),
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.dt_strftime(f text, t sqlmite.dt) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  out text := ''; i int := 1; n int := length(f); c text; y sqlmite.dt; nday int; wd int; hh int; sec float8;
BEGIN
  IF t IS NULL OR f IS NULL THEN RETURN NULL; END IF;
  WHILE i <= n LOOP
    c := substr(f, i, 1);
    IF c <> '%' THEN out := out || c; i := i + 1; CONTINUE; END IF;
    i := i + 1;
    c := substr(f, i, 1);
    i := i + 1;
    CASE c
      WHEN 'd' THEN out := out || lpad(t.d::text, 2, '0');
      WHEN 'e' THEN out := out || lpad(t.d::text, 2, ' ');
      WHEN 'f' THEN
        sec := least(t.s, 59.999);
        out := out || lpad(to_char(round(sec::numeric, 3), 'FM90.000'), 6, '0');
      WHEN 'F' THEN out := out || sqlmite.dt_year(t.y) || '-' || lpad(t.mo::text, 2, '0') || '-' || lpad(t.d::text, 2, '0');
      WHEN 'H' THEN out := out || lpad(t.h::text, 2, '0');
      WHEN 'k' THEN out := out || lpad(t.h::text, 2, ' ');
      WHEN 'I', 'l' THEN
        hh := t.h; IF hh > 12 THEN hh := hh - 12; END IF; IF hh = 0 THEN hh := 12; END IF;
        out := out || lpad(hh::text, 2, CASE WHEN c = 'I' THEN '0' ELSE ' ' END);
      WHEN 'j', 'W' THEN
        y := t; y.has_jd := false; y.mo := 1; y.d := 1; y.has_ymd := true;
        y := sqlmite.dt_jd(y);
        nday := ((t.jd - y.jd + 43200000) / 86400000)::int;
        IF c = 'W' THEN
          wd := (((t.jd + 43200000) / 86400000) % 7)::int;
          out := out || lpad(((nday + 7 - wd) / 7)::text, 2, '0');
        ELSE
          out := out || lpad((nday + 1)::text, 3, '0');
        END IF;
      WHEN 'm' THEN out := out || lpad(t.mo::text, 2, '0');
      WHEN 'M' THEN out := out || lpad(t.mi::text, 2, '0');
      WHEN 'p' THEN out := out || CASE WHEN t.h >= 12 THEN 'PM' ELSE 'AM' END;
      WHEN 'P' THEN out := out || CASE WHEN t.h >= 12 THEN 'pm' ELSE 'am' END;
      WHEN 'R' THEN out := out || lpad(t.h::text, 2, '0') || ':' || lpad(t.mi::text, 2, '0');
      WHEN 's' THEN out := out || (t.jd / 1000 - 210866760000)::text;
      WHEN 'S' THEN out := out || lpad(trunc(t.s)::int::text, 2, '0');
      WHEN 'T' THEN out := out || sqlmite.dt_time(t);
      WHEN 'u', 'w' THEN
        wd := (((t.jd + 129600000) / 86400000) % 7)::int;
        IF wd = 0 AND c = 'u' THEN wd := 7; END IF;
        out := out || wd::text;
      WHEN 'Y' THEN out := out || sqlmite.dt_year(t.y);
      WHEN '%' THEN out := out || '%';
      ELSE RETURN NULL;
    END CASE;
  END LOOP;
  RETURN out;
END $$""", "function sqlmite.dt_strftime"),
)

"""SQLite's scalar and aggregate semantics that PostgreSQL lacks, as PostgreSQL functions.

Each one is a port of the SQLite step it names (``substr``'s rules for zero and negative
positions, the exact integer/real comparison, Kahan-Babuska-Neumaier sums, ``round`` to decimal
places); the translator (``translate/``) calls them where PostgreSQL's own function would answer
differently. Date and time functions live in ``datetime_sql.py``, JSON ones in ``json_sql.py``.
"""

from __future__ import annotations

from sqlmite.mapping.ddl import Statement

SCALAR_FUNCTIONS: tuple[Statement, ...] = (
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.substr(x text, y bigint, z bigint) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
-- SQLite's substr() on text, step by step as its func.c computes it: 1-based, a negative start
-- counts from the end, 0 is before the first character, a negative length takes the characters
-- before the start.
DECLARE
  len bigint := char_length(x);
  p1 bigint := y;
  p2 bigint := z;
  negative boolean := false;
BEGIN
  IF p2 < 0 THEN
    p2 := -p2;
    negative := true;
  END IF;
  IF p1 < 0 THEN
    p1 := p1 + len;
    IF p1 < 0 THEN
      p2 := p2 + p1;
      IF p2 < 0 THEN p2 := 0; END IF;
      p1 := 0;
    END IF;
  ELSIF p1 > 0 THEN
    p1 := p1 - 1;
  ELSIF p2 > 0 THEN
    p2 := p2 - 1;
  END IF;
  IF negative THEN
    p1 := p1 - p2;
    IF p1 < 0 THEN
      p2 := p2 + p1;
      p1 := 0;
    END IF;
  END IF;
  IF p1 + p2 > len THEN
    p2 := greatest(len - p1, 0);
  END IF;
  RETURN substring(x FROM (p1 + 1)::int FOR p2::int);
END
$$""", "function sqlmite.substr"),
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.substr(x text, y bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT sqlmite.substr(x, y, 1000000000) $$""",
              "function sqlmite.substr"),
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.int_real_cmp(i bigint, r float8) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
-- SQLite's exact comparison of an integer with a real (sqlite3IntFloatCompare): -1, 0 or 1.
SELECT CASE WHEN r < -9223372036854775808::float8 THEN 1
            WHEN r >= 9223372036854775808::float8 THEN -1
            WHEN i < trunc(r)::bigint THEN -1
            WHEN i > trunc(r)::bigint THEN 1
            WHEN i::float8 < r THEN -1
            WHEN i::float8 > r THEN 1
            ELSE 0 END
$$""", "function sqlmite.int_real_cmp"),
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.kbn_step(state float8[], r float8) RETURNS float8[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
-- One step of SQLite's sum() over reals (func.c, kahanBabuskaNeumaierStep): the running sum and
-- its Kahan-Babuska-Neumaier error term, so PostgreSQL's sum of doubles equals SQLite's.
DECLARE
  s float8;
  t float8;
BEGIN
  IF r IS NULL THEN
    RETURN state;
  END IF;
  s := coalesce(state[1], 0);
  t := s + r;
  IF abs(s) > abs(r) THEN
    RETURN ARRAY[t, coalesce(state[2], 0) + ((s - t) + r)];
  END IF;
  RETURN ARRAY[t, coalesce(state[2], 0) + ((r - t) + s)];
END
$$""", "function sqlmite.kbn_step"),
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.kbn_final(state float8[]) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN state IS NULL THEN NULL
            WHEN state[2] IN ('Infinity', '-Infinity', 'NaN') THEN state[1]
            ELSE state[1] + state[2] END
$$""", "function sqlmite.kbn_final"),
    Statement("""CREATE OR REPLACE AGGREGATE sqlmite.kbn_sum(float8) (
  SFUNC = sqlmite.kbn_step, STYPE = float8[], FINALFUNC = sqlmite.kbn_final)""", "aggregate sqlmite.kbn_sum"),
    # round(r, n) for n > 0 (func.c roundFunc): SQLite prints r with "%!.*f", whose digits are the
    # double's exact decimal expansion rounded half away from zero at n places, and reads that back.
    # The exact expansion: r = m / 2^k = m * 5^k / 10^k, all in numeric (float8 to numeric would
    # keep 15 digits only). n is at most 30; |r| past 2^52 has no fraction; n <= 0 rounds to an
    # integer as round(r) does. A negative r that rounds to zero stays -0.0, as in SQLite.
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.round_real(r float8, n bigint) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  bits bigint;
  e int;
  k int;
  m numeric;
  digits text;
  rounded numeric;
BEGIN
  IF r < -4503599627370496.0::float8 OR r > 4503599627370496.0::float8 OR r = 'NaN'::float8 THEN RETURN r; END IF;
  IF n <= 0 THEN
    RETURN trunc(r + CASE WHEN r < 0 THEN -0.5::float8 ELSE 0.5::float8 END) + 0.0::float8;
  END IF;
  bits := ('x' || encode(float8send(r), 'hex'))::bit(64)::bigint;
  e := ((bits >> 52) & 2047)::int;
  m := (bits & 4503599627370495)::numeric;
  IF e = 0 THEN k := 1074; ELSE m := m + 4503599627370496; k := 1075 - e; END IF;
  digits := trunc(m * (5::numeric ^ k))::text;  -- k >= 0: |r| <= 2^52 here
  digits := lpad(digits, greatest(length(digits), k + 1), '0');  -- (lpad would also cut)
  rounded := round((left(digits, length(digits) - k) || '.' || right(digits, k) || '0')::numeric,
                   least(n, 30)::int);
  IF bits < 0 THEN
    RETURN CASE WHEN rounded = 0 THEN '-0'::float8 ELSE -(rounded::float8) END;
  END IF;
  RETURN rounded::float8;
END $$""", "function sqlmite.round_real"),
)

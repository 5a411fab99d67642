"""SQLite's ``printf()``/``format()`` as a PostgreSQL function, step by step as printf.c.

SQLite formats with its own printf: flags ``- + space # ! 0 ,``, a width and a precision (``*``
takes them from the arguments), widths and precisions counted in bytes (in characters with
``!``), ``%d %i %u`` with thousands separators, ``%x %X %o`` of the 64-bit two's complement,
``%s %z``, ``%q %Q %w`` quoting, ``%c`` repeated by its precision, ``%r`` ordinals, ``%%``,
``%n``; an unknown conversion ends the output there. PostgreSQL's ``format()`` knows none of this,
so ``sqlmite.printf`` walks the format as SQLite does. Its arguments arrive tagged with their
storage class (``["i", 1]``, ``["t", "x"]``, as the data mapper's overflow values), so it reads
each the way SQLite's ``sqlite3_value_int64``/``sqlite3_value_text`` would. What it does not
follow raises ``NotSupportedError`` (SQLSTATE ``SQMT1``) on the row: floating-point conversions
(``%f %e %g``: SQLite's own digits), a real or a blob where text is wanted, text where an
integer is wanted (SQLite reads its numeric prefix), and output that would hold U+0000.
"""

from __future__ import annotations

from sqlmite.mapping.ddl import Statement
from sqlmite.mapping.sqlstates import NOT_SUPPORTED_STATE

PRINTF_FUNCTIONS: tuple[Statement, ...] = (
    # sqlite3_value_int64 of a tagged argument (NULL or missing: 0); reals truncate and saturate.
    Statement(f"""CREATE OR REPLACE FUNCTION sqlmite.printf_int(a jsonb, conversion text) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  r float8;
BEGIN
  IF a IS NULL THEN RETURN 0; END IF;
  CASE a->>0
    WHEN 'i' THEN RETURN (a->>1)::numeric;
    WHEN 'r' THEN
      r := sqlmite.json_real(a->>1);
      IF r >= 9223372036854775807::float8 THEN RETURN 9223372036854775807; END IF;
      IF r <= -9223372036854775808::float8 THEN RETURN -9223372036854775808; END IF;
      RETURN trunc(r)::numeric;
    ELSE
      RAISE EXCEPTION USING ERRCODE = '{NOT_SUPPORTED_STATE}', MESSAGE = 'printf ' || conversion ||
        ' of a text or blob: SQLite reads its numeric prefix; not supported';
  END CASE;
END $$""", "function sqlmite.printf_int"),
    # sqlite3_value_text of a tagged argument (NULL or missing: NULL).
    Statement(f"""CREATE OR REPLACE FUNCTION sqlmite.printf_text(a jsonb, conversion text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  IF a IS NULL THEN RETURN NULL; END IF;
  CASE a->>0
    WHEN 't' THEN RETURN a->>1;
    WHEN 'i' THEN RETURN a->>1;
    ELSE
      RAISE EXCEPTION USING ERRCODE = '{NOT_SUPPORTED_STATE}', MESSAGE = 'printf ' || conversion ||
        ' of a real or blob: SQLite writes it its own way; not supported';
  END CASE;
END $$""", "function sqlmite.printf_text"),
    # The first n bytes of t (a cut inside a character fails: SQLite would make invalid UTF-8).
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.printf_bytes(t text, n bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT convert_from(substring(convert_to(t, 'UTF8') FROM 1 FOR greatest(n, 0)::int), 'UTF8')
$$""", "function sqlmite.printf_bytes"),
    Statement(f"""CREATE OR REPLACE FUNCTION sqlmite.printf(fmt text, args jsonb[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  n int := length(fmt);
  i int := 1;
  used int := 0;
  nargs int := coalesce(array_length(args, 1), 0);
  out text := '';
  c text;
  j int;
  leftjustify boolean; prefix_flag text; alternate boolean; altform2 boolean; zeropad boolean;
  thousand boolean; done boolean;
  width bigint; prec bigint; wx bigint;
  v numeric; longvalue numeric; base int; digits text; cset text; prefix text; body text;
  len bigint; nn int; groups text; arg jsonb; t text; q text; is_null boolean; k bigint; ch text;
  conv text;
BEGIN
  IF fmt IS NULL THEN RETURN NULL; END IF;
  WHILE i <= n LOOP
    c := substr(fmt, i, 1);
    IF c <> '%' THEN
      j := strpos(substr(fmt, i), '%');
      IF j = 0 THEN out := out || substr(fmt, i); EXIT; END IF;
      out := out || substr(fmt, i, j - 1);
      i := i + j - 1;
    END IF;
    i := i + 1;
    IF i > n THEN out := out || '%'; EXIT; END IF;
    c := substr(fmt, i, 1);
    leftjustify := false; prefix_flag := ''; alternate := false; altform2 := false; zeropad := false;
    thousand := false; done := false; width := 0; prec := -1;
    LOOP
      CASE
        WHEN c = '-' THEN leftjustify := true;
        WHEN c = '+' THEN prefix_flag := '+';
        WHEN c = ' ' THEN prefix_flag := ' ';
        WHEN c = '#' THEN alternate := true;
        WHEN c = '!' THEN altform2 := true;
        WHEN c = '0' THEN zeropad := true;
        WHEN c = ',' THEN thousand := true;
        WHEN c = 'l' THEN
          i := i + 1; c := substr(fmt, i, 1);
          IF c = 'l' THEN i := i + 1; c := substr(fmt, i, 1); END IF;
          done := true;
        WHEN c <> '' AND strpos('123456789', c) > 0 THEN  -- (not BETWEEN: collations)
          wx := c::int;
          LOOP
            i := i + 1; c := substr(fmt, i, 1);
            EXIT WHEN c = '' OR strpos('0123456789', c) = 0;
            wx := (wx * 10 + c::int) % 4294967296;
          END LOOP;
          width := wx % 2147483648;
          IF c <> '.' AND c <> 'l' THEN done := true; ELSE i := i - 1; END IF;
        WHEN c = '*' THEN
          IF used < nargs THEN used := used + 1; width := sqlmite.printf_int(args[used], '*'); ELSE width := 0; END IF;
          width := (((width + 2147483648) % 4294967296 + 4294967296) % 4294967296) - 2147483648;  -- C's (int)
          IF width < 0 THEN
            leftjustify := true;
            width := CASE WHEN width >= -2147483647 THEN -width ELSE 0 END;
          END IF;
          IF substr(fmt, i + 1, 1) <> '.' AND substr(fmt, i + 1, 1) <> 'l' THEN
            i := i + 1; c := substr(fmt, i, 1); done := true;
          END IF;
        WHEN c = '.' THEN
          i := i + 1; c := substr(fmt, i, 1);
          IF c = '*' THEN
            IF used < nargs THEN used := used + 1; prec := sqlmite.printf_int(args[used], '*'); ELSE prec := 0; END IF;
            prec := (((prec + 2147483648) % 4294967296 + 4294967296) % 4294967296) - 2147483648;
            IF prec < 0 THEN prec := CASE WHEN prec >= -2147483647 THEN -prec ELSE -1 END; END IF;
            i := i + 1; c := substr(fmt, i, 1);
          ELSE
            wx := 0;
            WHILE c <> '' AND strpos('0123456789', c) > 0 LOOP
              wx := (wx * 10 + c::int) % 4294967296;
              i := i + 1; c := substr(fmt, i, 1);
            END LOOP;
            prec := wx % 2147483648;
          END IF;
          IF c = 'l' THEN i := i - 1; ELSE done := true; END IF;
        ELSE done := true;
      END CASE;
      EXIT WHEN done;
      i := i + 1; c := substr(fmt, i, 1);
      EXIT WHEN c = '';
    END LOOP;
    conv := '%' || c;
    IF width > 1000000000 OR prec > 1000000000 THEN  -- SQLite's SQLITE_MAX_LENGTH: "string or blob too big"
      RAISE EXCEPTION USING ERRCODE = '{NOT_SUPPORTED_STATE}',
        MESSAGE = 'printf: a width or precision past SQLite''s 1,000,000,000-byte string limit (SQLite fails)';
    END IF;
    IF c IN ('d', 'i', 'u', 'x', 'X', 'o', 'p', 'r') THEN
      IF used < nargs THEN used := used + 1; v := sqlmite.printf_int(args[used], conv); ELSE v := 0; END IF;
      IF c NOT IN ('d', 'i', 'u') THEN thousand := false; END IF;
      prefix := '';
      IF c IN ('d', 'i', 'r') THEN
        IF v < 0 THEN longvalue := -v; prefix := '-'; ELSE longvalue := v; prefix := prefix_flag; END IF;
      ELSE
        longvalue := CASE WHEN v < 0 THEN v + 18446744073709551616 ELSE v END;
      END IF;
      IF longvalue = 0 THEN alternate := false; END IF;
      IF zeropad AND prec < width - (prefix <> '')::int THEN prec := width - (prefix <> '')::int; END IF;
      base := CASE WHEN c IN ('x', 'X', 'p') THEN 16 WHEN c = 'o' THEN 8 ELSE 10 END;
      cset := CASE WHEN c = 'x' THEN '0123456789abcdef' ELSE '0123456789ABCDEF' END;
      digits := '';
      IF c = 'r' THEN
        digits := CASE WHEN (longvalue % 10) >= 4 OR div(longvalue, 10) % 10 = 1 THEN 'th'
                       ELSE (ARRAY['th', 'st', 'nd', 'rd'])[(longvalue % 10)::int + 1] END;
      END IF;
      LOOP
        digits := substr(cset, (longvalue % base)::int + 1, 1) || digits;
        longvalue := div(longvalue, base);
        EXIT WHEN longvalue = 0;
      END LOOP;
      len := length(digits);
      IF prec > len THEN digits := repeat('0', (prec - len)::int) || digits; len := prec; END IF;
      IF thousand THEN
        nn := ((len - 1) / 3)::int;
        groups := left(digits, ((len - 1) % 3 + 1)::int);
        FOR j IN 1..nn LOOP
          groups := groups || ',' || substr(digits, ((len - 1) % 3 + 2 + (j - 1) * 3)::int, 3);
        END LOOP;
        digits := groups;
      END IF;
      body := prefix || digits;
      IF alternate AND c IN ('x', 'X', 'o', 'p') THEN
        body := CASE c WHEN 'x' THEN '0x' WHEN 'p' THEN '0x' WHEN 'X' THEN '0X' ELSE '0' END || body;
      END IF;
      len := octet_length(body);
    ELSIF c IN ('f', 'e', 'E', 'g', 'G') THEN
      RAISE EXCEPTION USING ERRCODE = '{NOT_SUPPORTED_STATE}',
        MESSAGE = 'printf ' || conv || ': SQLite writes floating-point digits its own way; not supported';
    ELSIF c = 'n' THEN
      body := ''; len := 0; width := 0;
    ELSIF c = '%' THEN
      body := '%'; len := 1;
    ELSIF c IN ('s', 'z') THEN
      IF used < nargs THEN used := used + 1; t := sqlmite.printf_text(args[used], conv); ELSE t := NULL; END IF;
      t := coalesce(t, '');
      IF prec >= 0 THEN
        t := CASE WHEN altform2 THEN left(t, prec::int) ELSE sqlmite.printf_bytes(t, prec) END;
      END IF;
      body := t;
      len := octet_length(body);
      IF altform2 AND width > 0 THEN width := width + len - char_length(body); END IF;
    ELSIF c IN ('q', 'Q', 'w') THEN
      IF used < nargs THEN used := used + 1; t := sqlmite.printf_text(args[used], conv); ELSE t := NULL; END IF;
      is_null := t IS NULL;
      IF is_null THEN t := CASE WHEN c = 'Q' THEN 'NULL' ELSE '(NULL)' END; END IF;
      q := CASE WHEN c = 'w' THEN '"' ELSE '''' END;
      IF prec >= 0 THEN
        t := CASE WHEN altform2 THEN left(t, prec::int) ELSE sqlmite.printf_bytes(t, prec) END;
      END IF;
      body := replace(t, q, q || q);
      IF NOT is_null AND c = 'Q' THEN body := q || body || q; END IF;
      len := octet_length(body);
      IF altform2 AND width > 0 THEN width := width + len - char_length(body); END IF;
    ELSIF c = 'c' THEN
      IF used < nargs THEN used := used + 1; t := sqlmite.printf_text(args[used], conv); ELSE t := NULL; END IF;
      ch := left(coalesce(t, ''), 1);
      IF ch = '' THEN
        RAISE EXCEPTION USING ERRCODE = '{NOT_SUPPORTED_STATE}',
          MESSAGE = 'printf %c of an empty or NULL text writes U+0000, which PostgreSQL text cannot hold';
      END IF;
      body := ch;
      IF prec > 1 THEN
        width := width - (prec - 1);
        IF width > 1 AND NOT leftjustify THEN out := out || repeat(' ', (width - 1)::int); width := 0; END IF;
        out := out || repeat(ch, (prec - 1)::int);
      END IF;
      len := octet_length(body);
      IF width > 0 THEN width := width + len - 1; END IF;
    ELSE
      RETURN out;  -- an unknown conversion ends SQLite's output
    END IF;
    width := width - len;
    IF width > 0 THEN
      IF leftjustify THEN out := out || body || repeat(' ', width::int);
      ELSE out := out || repeat(' ', width::int) || body; END IF;
    ELSE
      out := out || body;
    END IF;
    i := i + 1;
  END LOOP;
  RETURN out;
END $$""", "function sqlmite.printf"),
)

"""SQLite's JSON functions as PostgreSQL functions over JSON held in text.

SQLite keeps JSON text as written: ``json()`` only removes whitespace (numbers and string escapes
stay verbatim), an object may repeat a key (a path finds the first), and a path step into a
scalar is NULL. PostgreSQL's ``json`` type (not ``jsonb``, which reorders keys, drops duplicates
and rewrites numbers) also keeps the text as written, so these functions walk ``json`` values.
PostgreSQL reads RFC 8259 JSON only; text SQLite's lenient reader also takes (JSON5, raw control
characters in strings) fails here with ``NotSupportedError`` (SQLSTATE ``SQMT1``), never with a
different answer. The translator (``translate/json.py``) parses paths and calls these.
"""

from __future__ import annotations

from sqlmite.mapping.ddl import Statement
from sqlmite.mapping.sqlstates import NOT_SUPPORTED_STATE, SQLITE_ERROR_STATE

JSON_FUNCTIONS: tuple[Statement, ...] = (
    # The document: RFC 8259 text as json, or an error. json_valid() asks the same question.
    Statement(f"""CREATE OR REPLACE FUNCTION sqlmite.json_doc(t text) RETURNS json
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN t::json;
EXCEPTION WHEN invalid_text_representation THEN
  RAISE EXCEPTION USING ERRCODE = '{NOT_SUPPORTED_STATE}', MESSAGE = 'malformed JSON, or JSON only SQLite''s lenient '
    'reader takes (JSON5, raw control characters): sqlmite reads RFC 8259 JSON';
END $$""", "function sqlmite.json_doc"),
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.json_valid(t text) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  IF t IS NULL THEN RETURN NULL; END IF;
  PERFORM t::json;
  RETURN 1;
EXCEPTION WHEN invalid_text_representation THEN
  RETURN 0;
END $$""", "function sqlmite.json_valid"),
    # SQLite's text of a JSON value: the value as written, without whitespace outside strings.
    Statement(r"""CREATE OR REPLACE FUNCTION sqlmite.json_min(j json) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT regexp_replace(j::text, '("(?:[^"\\]|\\.)*")|[ \t\n\r]+', '\1', 'g')
$$""", "function sqlmite.json_min"),
    # A path's value: steps 'k<key>' (an object's first member of that key), 'i<n>' (an array's
    # element n), '#<n>' (the element n from the end). NULL where the path leads nowhere.
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.json_at(j json, steps text[]) RETURNS json
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  step text;
  n int;
BEGIN
  FOREACH step IN ARRAY steps LOOP
    IF j IS NULL THEN RETURN NULL; END IF;
    IF left(step, 1) = 'k' THEN
      IF json_typeof(j) <> 'object' THEN RETURN NULL; END IF;
      SELECT e.value INTO j FROM json_each(j) WITH ORDINALITY AS e(key, value, at)
        WHERE e.key = substr(step, 2) ORDER BY e.at LIMIT 1;
      IF NOT FOUND THEN RETURN NULL; END IF;
    ELSE
      IF json_typeof(j) <> 'array' THEN RETURN NULL; END IF;
      n := substr(step, 2)::int;
      IF left(step, 1) = '#' THEN n := json_array_length(j) - n; END IF;
      IF n < 0 THEN RETURN NULL; END IF;
      j := j -> n;
    END IF;
  END LOOP;
  RETURN j;
END $$""", "function sqlmite.json_at"),
    # json_extract's SQL value, tagged with its storage class as the data mapper's overflow
    # values are: true/false 1/0, integers that fit 64 bits as integers, other numbers as reals
    # (their text, converted by the reader), strings unescaped, arrays and objects as JSON text.
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.json_value(j json) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  t text;
BEGIN
  CASE json_typeof(j)
    WHEN 'string' THEN RETURN jsonb_build_array('t', j #>> '{}');
    WHEN 'number' THEN
      t := btrim(j::text, E' \\t\\n\\r');
      IF t ~ '^-?[0-9]+$' AND t::numeric BETWEEN -9223372036854775808 AND 9223372036854775807 THEN
        RETURN jsonb_build_array('i', t::bigint);
      END IF;
      RETURN jsonb_build_array('r', t);
    WHEN 'boolean' THEN RETURN jsonb_build_array('i', CASE WHEN btrim(j::text, E' \\t\\n\\r') = 'true' THEN 1 ELSE 0 END);
    WHEN 'array', 'object' THEN RETURN jsonb_build_array('t', sqlmite.json_min(j));
    ELSE RETURN NULL;  -- JSON null, or no value
  END CASE;
END $$""", "function sqlmite.json_value"),
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.json_kind(j json) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE json_typeof(j)
    WHEN 'number' THEN CASE WHEN btrim(j::text, E' \\t\\n\\r') ~ '^-?[0-9]+$' THEN 'integer' ELSE 'real' END
    WHEN 'boolean' THEN btrim(j::text, E' \\t\\n\\r')
    WHEN 'string' THEN 'text'
    ELSE json_typeof(j) END
$$""", "function sqlmite.json_kind"),
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.json_length(j json) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN j IS NULL THEN NULL WHEN json_typeof(j) = 'array' THEN json_array_length(j) ELSE 0 END
$$""", "function sqlmite.json_length"),
    # A JSON number's text as SQLite's double: past the range, infinity or zero (PostgreSQL fails).
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.json_real(t text) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
  RETURN t::float8;
EXCEPTION WHEN numeric_value_out_of_range THEN
  IF abs(t::numeric) < 1 THEN RETURN CASE WHEN t LIKE '-%' THEN '-0'::float8 ELSE 0::float8 END; END IF;
  RETURN CASE WHEN t LIKE '-%' THEN '-Infinity'::float8 ELSE 'Infinity'::float8 END;
END $$""", "function sqlmite.json_real"),
    # json_extract's value as json_array()/json_object()/json_quote() write it: strings quoted
    # again (SQLite's escapes are PostgreSQL's to_json's), integers as digits, true/false as 1/0,
    # arrays and objects as JSON when the value keeps SQLite's JSON subtype (json_extract) or
    # quoted as text (->>). A real would be written with SQLite's own digits: refused.
    Statement(f"""CREATE OR REPLACE FUNCTION sqlmite.json_quoted(j json, subtype boolean) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  t text;
BEGIN
  CASE json_typeof(j)
    WHEN 'string' THEN RETURN to_json(j #>> '{{}}')::text;
    WHEN 'number' THEN
      t := btrim(j::text, E' \\t\\n\\r');
      IF t ~ '^-?[0-9]+$' AND t::numeric BETWEEN -9223372036854775808 AND 9223372036854775807 THEN
        RETURN t::bigint::text;
      END IF;
      RAISE EXCEPTION USING ERRCODE = '{NOT_SUPPORTED_STATE}',
        MESSAGE = 'a JSON real written again by SQLite''s own digits: not supported';
    WHEN 'boolean' THEN RETURN CASE WHEN btrim(j::text, E' \\t\\n\\r') = 'true' THEN '1' ELSE '0' END;
    WHEN 'array', 'object' THEN
      RETURN CASE WHEN subtype THEN sqlmite.json_min(j) ELSE to_json(sqlmite.json_min(j))::text END;
    ELSE RETURN 'null';
  END CASE;
END $$""", "function sqlmite.json_quoted"),
    # CAST of a tagged value, by its class as SQLite converts it: integers and reals between them
    # (a real truncated and saturated), integers and text to text. Text to a number (SQLite reads
    # its numeric prefix), a real to text (SQLite's digits) and blobs are refused on the row.
    Statement(f"""CREATE OR REPLACE FUNCTION sqlmite.tag_as_integer(a jsonb) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  r float8;
BEGIN
  CASE a->>0
    WHEN 'i' THEN RETURN (a->>1)::bigint;
    WHEN 'r' THEN
      r := sqlmite.json_real(a->>1);
      RETURN CASE WHEN r >= 9223372036854775807::float8 THEN 9223372036854775807
                  WHEN r <= -9223372036854775808::float8 THEN -9223372036854775808 ELSE trunc(r)::bigint END;
    ELSE
      IF a IS NULL THEN RETURN NULL; END IF;
      RAISE EXCEPTION USING ERRCODE = '{NOT_SUPPORTED_STATE}',
        MESSAGE = 'CAST of a text or blob to INTEGER follows SQLite''s own rules: not supported';
  END CASE;
END $$""", "function sqlmite.tag_as_integer"),
    Statement(f"""CREATE OR REPLACE FUNCTION sqlmite.tag_as_real(a jsonb) RETURNS float8
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  CASE a->>0
    WHEN 'i' THEN RETURN (a->>1)::bigint::float8;
    WHEN 'r' THEN RETURN sqlmite.json_real(a->>1);
    ELSE
      IF a IS NULL THEN RETURN NULL; END IF;
      RAISE EXCEPTION USING ERRCODE = '{NOT_SUPPORTED_STATE}',
        MESSAGE = 'CAST of a text or blob to REAL follows SQLite''s own rules: not supported';
  END CASE;
END $$""", "function sqlmite.tag_as_real"),
    Statement(f"""CREATE OR REPLACE FUNCTION sqlmite.tag_as_text(a jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  CASE a->>0
    WHEN 'i' THEN RETURN a->>1;
    WHEN 't' THEN RETURN a->>1;
    ELSE
      IF a IS NULL THEN RETURN NULL; END IF;
      RAISE EXCEPTION USING ERRCODE = '{NOT_SUPPORTED_STATE}',
        MESSAGE = 'CAST of a real or blob to TEXT writes SQLite''s own digits: not supported';
  END CASE;
END $$""", "function sqlmite.tag_as_text"),
    # SQLite's comparison of two tagged values (no affinity, BINARY): -1, 0, 1, or NULL when
    # either is NULL. Numbers before text before blobs; an integer and a real compare exactly.
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.tag_cmp(a jsonb, b jsonb) RETURNS int
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  ka text := a->>0;
  kb text := b->>0;
  ra int := CASE ka WHEN 'i' THEN 1 WHEN 'r' THEN 1 WHEN 't' THEN 2 ELSE 3 END;
  rb int := CASE kb WHEN 'i' THEN 1 WHEN 'r' THEN 1 WHEN 't' THEN 2 ELSE 3 END;
  x float8;
  y float8;
BEGIN
  IF ra <> rb THEN RETURN sign(ra - rb); END IF;
  IF ra > 1 THEN
    RETURN CASE WHEN (a->>1) COLLATE "C" < (b->>1) COLLATE "C" THEN -1
                WHEN (a->>1) COLLATE "C" > (b->>1) COLLATE "C" THEN 1 ELSE 0 END;
  END IF;
  IF ka = 'i' AND kb = 'i' THEN RETURN sign((a->>1)::bigint::numeric - (b->>1)::bigint::numeric); END IF;
  IF ka = 'i' THEN RETURN sqlmite.int_real_cmp((a->>1)::bigint, sqlmite.json_real(b->>1)); END IF;
  IF kb = 'i' THEN RETURN -sqlmite.int_real_cmp((b->>1)::bigint, sqlmite.json_real(a->>1)); END IF;
  x := sqlmite.json_real(a->>1);
  y := sqlmite.json_real(b->>1);
  RETURN CASE WHEN x < y THEN -1 WHEN x > y THEN 1 ELSE 0 END;
END $$""", "function sqlmite.tag_cmp"),
    # The same against a real: the real stays a float8 (no text form in between).
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.tag_real_cmp(a jsonb, r float8) RETURNS int
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  x float8;
BEGIN
  CASE a->>0
    WHEN 'i' THEN RETURN sqlmite.int_real_cmp((a->>1)::bigint, r);
    WHEN 'r' THEN
      x := sqlmite.json_real(a->>1);
      RETURN CASE WHEN x < r THEN -1 WHEN x > r THEN 1 ELSE 0 END;
    ELSE RETURN 1;
  END CASE;
END $$""", "function sqlmite.tag_real_cmp"),
    # SQLite keeps an object's keys as written (escapes included) and shows them so in edits and
    # in json_each's fullkey; PostgreSQL gives them unescaped. An object whose text has a key
    # written with a backslash is refused rather than shown otherwise.
    Statement(f"""CREATE OR REPLACE FUNCTION sqlmite.json_plain_keys(j json, what text) RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  IF j::text ~ '"(?:[^"\\\\]|\\\\.)*\\\\(?:[^"\\\\]|\\\\.)*"[ \t\n\r]*:' THEN
    RAISE EXCEPTION USING ERRCODE = '{NOT_SUPPORTED_STATE}',
      MESSAGE = what || ' a JSON object whose keys are written with escapes: not supported';
  END IF;
END $$""", "function sqlmite.json_plain_keys"),
    # json_set/json_insert/json_replace/json_remove at one path (mode 'set', 'insert', 'replace',
    # 'remove'): the edited value's text, or NULL for a removed one. SQLite edits the first member
    # of a repeated key, appends a missing key (creating the objects and arrays a longer path
    # needs), appends at [#] or at the index just past the end, and leaves the value as it is
    # where the path leads through a scalar or past the end. Members keep their keys as written;
    # one written with escapes is not rebuilt (its text would change): NotSupportedError.
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.json_edit(j json, steps text[], val text, mode text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  step text := steps[1];
  rest text[] := steps[2:];
  parts text[] := '{}';
  piece text;
  found boolean := false;
  n int;
  idx int;
  r record;
BEGIN
  IF j IS NULL THEN RETURN NULL; END IF;
  IF step IS NULL THEN
    RETURN CASE mode WHEN 'remove' THEN NULL WHEN 'insert' THEN sqlmite.json_min(j) ELSE val END;
  END IF;
  IF left(step, 1) = 'k' THEN
    IF json_typeof(j) <> 'object' THEN RETURN sqlmite.json_min(j); END IF;
    PERFORM sqlmite.json_plain_keys(j, 'editing');
    FOR r IN SELECT e.key, e.value FROM json_each(j) WITH ORDINALITY AS e(key, value, at) ORDER BY e.at LOOP
      IF NOT found AND r.key = substr(step, 2) THEN
        found := true;
        piece := sqlmite.json_edit(r.value, rest, val, mode);
        IF piece IS NOT NULL THEN parts := parts || (to_json(r.key)::text || ':' || piece); END IF;
      ELSE
        parts := parts || (to_json(r.key)::text || ':' || sqlmite.json_min(r.value));
      END IF;
    END LOOP;
    IF NOT found AND mode IN ('set', 'insert') THEN
      piece := sqlmite.json_new(rest, val);
      IF piece IS NOT NULL THEN parts := parts || (to_json(substr(step, 2))::text || ':' || piece); END IF;
    END IF;
    RETURN '{' || array_to_string(parts, ',') || '}';
  END IF;
  IF json_typeof(j) <> 'array' THEN RETURN sqlmite.json_min(j); END IF;
  n := json_array_length(j);
  idx := CASE WHEN left(step, 1) = '#' THEN n - substr(step, 2)::int ELSE substr(step, 2)::int END;
  FOR r IN SELECT e.value, e.at FROM json_array_elements(j) WITH ORDINALITY AS e(value, at) ORDER BY e.at LOOP
    IF r.at - 1 = idx THEN
      piece := sqlmite.json_edit(r.value, rest, val, mode);
      IF piece IS NOT NULL THEN parts := parts || piece; END IF;
    ELSE
      parts := parts || sqlmite.json_min(r.value);
    END IF;
  END LOOP;
  IF idx = n AND mode IN ('set', 'insert') THEN
    piece := sqlmite.json_new(rest, val);
    IF piece IS NOT NULL THEN parts := parts || piece; END IF;
  END IF;
  RETURN '[' || array_to_string(parts, ',') || ']';
END $$""", "function sqlmite.json_edit"),
    # The value a missing path creates: objects for keys, a one-element array for [0] or [#];
    # NULL (nothing created) for any other index.
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.json_new(steps text[], val text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  inner_text text;
BEGIN
  IF steps[1] IS NULL THEN RETURN val; END IF;
  inner_text := sqlmite.json_new(steps[2:], val);
  IF inner_text IS NULL THEN RETURN NULL; END IF;
  IF left(steps[1], 1) = 'k' THEN RETURN '{' || to_json(substr(steps[1], 2))::text || ':' || inner_text || '}'; END IF;
  IF steps[1] IN ('i0', '#0') THEN RETURN '[' || inner_text || ']'; END IF;
  RETURN NULL;
END $$""", "function sqlmite.json_new"),
    # json_each's rows over a value found at path ``base``: each member of an object or element of
    # an array in order (a scalar: itself), with SQLite's key (text or index), value and atom
    # (tagged), type, fullkey and path. json_tree walks the same way, depth first, itself first.
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.json_label(k text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN k ~ '^[A-Za-z][A-Za-z0-9]*$' THEN '.' || k ELSE '."' || k || '"' END
$$""", "function sqlmite.json_label"),
    Statement("""CREATE OR REPLACE FUNCTION sqlmite.json_each_rows(j json, base text, tree boolean, top jsonb DEFAULT NULL)
  RETURNS TABLE(key jsonb, value jsonb, type text, atom jsonb, fullkey text, path text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  r record;
  below text;
  container boolean;
BEGIN
  IF j IS NULL THEN RETURN; END IF;
  container := json_typeof(j) IN ('object', 'array');
  IF json_typeof(j) = 'object' THEN PERFORM sqlmite.json_plain_keys(j, 'listing'); END IF;
  IF NOT container OR tree THEN  -- a scalar, or json_tree's own first row
    key := CASE WHEN tree THEN top END;  -- json_tree's top row: the key its path ends with
    value := sqlmite.json_value(j); type := sqlmite.json_kind(j);
    atom := CASE WHEN container THEN NULL ELSE value END; fullkey := base;
    path := CASE WHEN tree THEN sqlmite.json_parent_path(base) ELSE base END;
    RETURN NEXT;
    IF NOT container THEN RETURN; END IF;
  END IF;
  FOR r IN
    SELECT jsonb_build_array('t', e.k) AS k, e.v, base || sqlmite.json_label(e.k) AS full_key, e.n
      FROM json_each(j) WITH ORDINALITY AS e(k, v, n) WHERE json_typeof(j) = 'object'
    UNION ALL
    SELECT jsonb_build_array('i', e.n - 1), e.v, base || '[' || (e.n - 1) || ']', e.n
      FROM json_array_elements(j) WITH ORDINALITY AS e(v, n) WHERE json_typeof(j) = 'array'
    ORDER BY 4
  LOOP
    IF tree AND json_typeof(r.v) IN ('object', 'array') THEN
      RETURN QUERY SELECT CASE WHEN x.n = 1 THEN r.k ELSE x.key END, x.value, x.type, x.atom, x.fullkey, x.path
                     FROM sqlmite.json_each_rows(r.v, r.full_key, true) WITH ORDINALITY
                          AS x(key, value, type, atom, fullkey, path, n);
      CONTINUE;
    END IF;
    key := r.k; value := sqlmite.json_value(r.v); type := sqlmite.json_kind(r.v);
    atom := CASE WHEN json_typeof(r.v) IN ('object', 'array') THEN NULL ELSE value END;
    fullkey := r.full_key; path := base;
    RETURN NEXT;
  END LOOP;
END $$""", "function sqlmite.json_each_rows"),
    # json_tree's path of a row: its parent's fullkey (for the top, the top itself).
    Statement(r"""CREATE OR REPLACE FUNCTION sqlmite.json_parent_path(fk text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(substring(fk FROM '^(.*)(?:\.[A-Za-z][A-Za-z0-9]*|\."[^"]*"|\[[0-9]+\])$'), fk)
$$""", "function sqlmite.json_parent_path"),
    # SQLite's own error, raised where SQLite raises it (on the first row it evaluates).
    Statement(f"""CREATE OR REPLACE FUNCTION sqlmite.sqlite_error(message text) RETURNS json
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = '{SQLITE_ERROR_STATE}', MESSAGE = message;
END $$""", "function sqlmite.sqlite_error"),
)

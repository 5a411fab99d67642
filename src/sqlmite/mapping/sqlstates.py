"""The SQLSTATEs sqlmite's own PostgreSQL code raises, and what each becomes in the driver.

PL/pgSQL written by sqlmite (trigger bodies, the JSON functions) meets cases only while running
that the translator could not rule out; each raises one of these so ``dbapi/answers.py`` reports
it as SQLite would, or refuses by name.
"""

NOT_SUPPORTED_STATE = "SQMT1"  # SQLite's answer cannot be given here: NotSupportedError
RAISE_STATE = "SQMT2"  # a trigger body's RAISE(ABORT, message): IntegrityError
SQLITE_ERROR_STATE = "SQMT3"  # SQLite itself fails here: OperationalError with SQLite's message
ROLLBACK_STATE = "SQMT4"  # a trigger body's RAISE(ROLLBACK, message): IntegrityError, the transaction ends

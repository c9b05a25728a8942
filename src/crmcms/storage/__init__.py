"""Storage adapters: in-memory and SQLAlchemy (SQLite by default, PostgreSQL for scale)."""

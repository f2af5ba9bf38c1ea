"""Result records, the SQLite store, statistics, table writers and plots."""
from .record import Record, make_record
from .store import Store
from .tables import Table, write_tables

__all__ = ["Record", "make_record", "Store", "Table", "write_tables"]

"""records.store_id: checked once per statement instead of a foreign key checked per row

Revision ID: 0005
Revises: 0004

A push writes hundreds of records in one statement, all of one store whose row it holds
locked already. The foreign key looked that store up again for every row (on PostgreSQL a
query per row: about a third of the statement's time). The guarantee is kept by triggers:

- a record written names a store that exists (PostgreSQL: once per statement, over the rows
  it inserted, locking the stores FOR KEY SHARE as the foreign key did; SQLite: per row, as
  its foreign key did, SQLite having no statement triggers);
- a record never moves to another store (its store_id is not updated);
- deleting a store deletes its records (what ON DELETE CASCADE did), and a store's id does
  not change while it has records.

Violations fail as the foreign key did: PostgreSQL's foreign_key_violation (an
IntegrityError), SQLite's "FOREIGN KEY constraint failed".
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_FK = "fk_records_store_id_stores"

_PG_UP = [
    """
    CREATE FUNCTION records_store_exists() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      wanted bigint;
      found bigint;
    BEGIN
      SELECT count(DISTINCT store_id) INTO wanted FROM added;
      -- Locked as a foreign key locks them: a store being deleted waits for this commit.
      SELECT count(*) INTO found FROM (
        SELECT 1 FROM stores WHERE id IN (SELECT store_id FROM added) FOR KEY SHARE
      ) AS s;
      IF found < wanted THEN
        RAISE EXCEPTION 'FOREIGN KEY constraint failed: a record names no store'
          USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER records_store_exists AFTER INSERT ON records"
    " REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION records_store_exists()",
    """
    CREATE FUNCTION records_store_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'FOREIGN KEY constraint failed: a record cannot move to another store'
        USING ERRCODE = 'foreign_key_violation';
    END $$
    """,
    "CREATE TRIGGER records_store_fixed BEFORE UPDATE OF store_id ON records FOR EACH ROW"
    " WHEN (NEW.store_id IS DISTINCT FROM OLD.store_id) EXECUTE FUNCTION records_store_fixed()",
    """
    CREATE FUNCTION stores_delete_records() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM records WHERE store_id = OLD.id;
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER stores_delete_records AFTER DELETE ON stores FOR EACH ROW"
    " EXECUTE FUNCTION stores_delete_records()",
    """
    CREATE FUNCTION stores_id_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM records WHERE store_id = OLD.id) THEN
        RAISE EXCEPTION 'FOREIGN KEY constraint failed: the store has records'
          USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER stores_id_fixed BEFORE UPDATE OF id ON stores FOR EACH ROW"
    " WHEN (NEW.id IS DISTINCT FROM OLD.id) EXECUTE FUNCTION stores_id_fixed()",
]
_PG_DOWN = [
    "DROP TRIGGER stores_id_fixed ON stores",
    "DROP FUNCTION stores_id_fixed()",
    "DROP TRIGGER stores_delete_records ON stores",
    "DROP FUNCTION stores_delete_records()",
    "DROP TRIGGER records_store_fixed ON records",
    "DROP FUNCTION records_store_fixed()",
    "DROP TRIGGER records_store_exists ON records",
    "DROP FUNCTION records_store_exists()",
]

_SQLITE_UP = [
    "CREATE TRIGGER records_store_exists BEFORE INSERT ON records"
    " WHEN NOT EXISTS (SELECT 1 FROM stores WHERE id = NEW.store_id)"
    " BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: a record names no store'); END",
    "CREATE TRIGGER records_store_fixed BEFORE UPDATE OF store_id ON records"
    " WHEN NEW.store_id IS NOT OLD.store_id"
    " BEGIN SELECT RAISE(ABORT,"
    " 'FOREIGN KEY constraint failed: a record cannot move to another store'); END",
    "CREATE TRIGGER stores_delete_records AFTER DELETE ON stores"
    " BEGIN DELETE FROM records WHERE store_id = OLD.id; END",
    "CREATE TRIGGER stores_id_fixed BEFORE UPDATE OF id ON stores"
    " WHEN NEW.id IS NOT OLD.id AND EXISTS (SELECT 1 FROM records WHERE store_id = OLD.id)"
    " BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: the store has records'); END",
]
_SQLITE_DOWN = [
    "DROP TRIGGER stores_id_fixed",
    "DROP TRIGGER stores_delete_records",
    "DROP TRIGGER records_store_fixed",
    "DROP TRIGGER records_store_exists",
]


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _postgres():
        op.drop_constraint(_FK, "records", type_="foreignkey")
        statements = _PG_UP
    else:  # SQLite: the table is rebuilt without the foreign key (batch mode)
        with op.batch_alter_table("records", recreate="always") as batch_op:
            batch_op.drop_constraint(_FK, type_="foreignkey")
        statements = _SQLITE_UP
    for statement in statements:
        op.execute(sa.text(statement))


def downgrade() -> None:
    for statement in _PG_DOWN if _postgres() else _SQLITE_DOWN:
        op.execute(sa.text(statement))
    with op.batch_alter_table("records") as batch_op:
        batch_op.create_foreign_key(_FK, "stores", ["store_id"], ["id"], ondelete="CASCADE")

/**
 * Ledger schema v4: product recommendation tables (issue 8, seed 001 §五).
 *
 * - `product_tables`: one row per table version. Versions are station-wide (the ledger's highest + 1), so a newer
 *   table always has a higher version than any table a device could hold, whichever scope (brand or store) it came
 *   from. Append-only.
 * - `product_items`: the validated rows of each version, in sheet order, with the sheet row. Append-only.
 * - `product_device_acks`: per device (triad), the last push and the highest version the device acknowledged.
 *
 * Written with IF NOT EXISTS so that a test (or a repair) that deletes migration rows can run it again.
 */
export const PRODUCT_TABLES_MIGRATION = `
CREATE TABLE IF NOT EXISTS product_tables (
  version     INTEGER PRIMARY KEY CHECK (version >= 1),
  scope_type  TEXT NOT NULL CHECK (scope_type IN ('brand', 'store')),
  scope_id    TEXT NOT NULL,
  hash        TEXT NOT NULL CHECK (length(hash) = 64),
  item_count  INTEGER NOT NULL CHECK (item_count >= 1),
  file_name   TEXT NOT NULL,
  file_sha256 TEXT NOT NULL,
  station_id  TEXT NOT NULL,
  operator    TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS product_tables_scope ON product_tables (scope_type, scope_id, version);
CREATE TABLE IF NOT EXISTS product_items (
  version    INTEGER NOT NULL REFERENCES product_tables (version),
  position   INTEGER NOT NULL CHECK (position >= 1),
  source_row INTEGER NOT NULL,
  name       TEXT NOT NULL,
  url        TEXT NOT NULL,
  kind       TEXT NOT NULL CHECK (kind IN ('tmall', 'taobao', 'other')),
  item_id    TEXT,
  sku_id     TEXT,
  PRIMARY KEY (version, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS product_device_acks (
  triad_id       TEXT PRIMARY KEY REFERENCES triads (id),
  pushed_version INTEGER NOT NULL REFERENCES product_tables (version),
  status         TEXT NOT NULL CHECK (status IN ('acked', 'refused', 'offline', 'timeout', 'error')),
  code           TEXT,
  acked_version  INTEGER,
  acked_hash     TEXT,
  pushed_at      INTEGER NOT NULL,
  acked_at       INTEGER,
  CHECK ((acked_version IS NULL) = (acked_at IS NULL))
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS product_tables_no_update BEFORE UPDATE ON product_tables
  BEGIN SELECT RAISE(ABORT, 'product tables are append-only'); END;
CREATE TRIGGER IF NOT EXISTS product_tables_no_delete BEFORE DELETE ON product_tables
  BEGIN SELECT RAISE(ABORT, 'product tables are append-only'); END;
CREATE TRIGGER IF NOT EXISTS product_items_no_update BEFORE UPDATE ON product_items
  BEGIN SELECT RAISE(ABORT, 'product items are append-only'); END;
CREATE TRIGGER IF NOT EXISTS product_items_no_delete BEFORE DELETE ON product_items
  BEGIN SELECT RAISE(ABORT, 'product items are append-only'); END;
CREATE TRIGGER IF NOT EXISTS product_device_acks_no_delete BEFORE DELETE ON product_device_acks
  BEGIN SELECT RAISE(ABORT, 'product acks are kept'); END;
CREATE TRIGGER IF NOT EXISTS product_device_acks_monotonic BEFORE UPDATE OF acked_version ON product_device_acks
  WHEN OLD.acked_version IS NOT NULL AND (NEW.acked_version IS NULL OR NEW.acked_version < OLD.acked_version)
  BEGIN SELECT RAISE(ABORT, 'an acknowledged version never goes down'); END;
`;

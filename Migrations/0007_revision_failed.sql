-- A revision whose apply failed (the kernel refused a change and the apply was undone) is marked
-- failed: it is never the applied revision that drift and the daemon converge to. Cleared when
-- the same revision is later applied successfully. NULL: not failed.
ALTER TABLE revision ADD COLUMN failed_at INTEGER;

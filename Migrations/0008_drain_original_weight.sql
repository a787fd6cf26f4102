-- A drain's weight before it started was written and never read: a drain that is cancelled
-- (the real server is back in the manifest) gets the manifest's weight, not the old one.
ALTER TABLE drain DROP COLUMN original_weight;

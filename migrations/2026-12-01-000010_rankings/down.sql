DROP TABLE ranking_history;
ALTER TABLE rankings DROP COLUMN previous_rank;
-- A champion's row (no rank) goes to the bottom of his division.
UPDATE rankings r SET rank = sub.n
FROM (SELECT u.id,
             (SELECT coalesce(max(k.rank), 0) FROM rankings k WHERE k.division_id = u.division_id)
             + row_number() OVER (PARTITION BY u.division_id ORDER BY u.id) AS n
      FROM rankings u WHERE u.rank IS NULL) sub
WHERE r.id = sub.id;
ALTER TABLE rankings ALTER COLUMN rank SET NOT NULL;
ALTER TABLE divisions DROP COLUMN champion_since, DROP COLUMN champion_id;

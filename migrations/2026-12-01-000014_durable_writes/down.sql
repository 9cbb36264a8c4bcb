DROP TABLE idempotency_keys;
DROP TABLE commit_fences;
DROP FUNCTION commit_fence_check();

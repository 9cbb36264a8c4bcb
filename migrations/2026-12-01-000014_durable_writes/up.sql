-- The commit fence: a transaction that must not commit after a moment (its
-- caller was answered 503 by then) arms it with one row; the deferred
-- trigger runs at COMMIT, on the database's clock, and aborts the whole
-- transaction when the moment has passed. So a write stuck behind a frozen
-- or stopped database can never land after its caller was told it failed.
-- Unlogged: the row lives only inside its own transaction.
CREATE UNLOGGED TABLE commit_fences (
    id BIGSERIAL PRIMARY KEY,
    commit_by TIMESTAMPTZ NOT NULL
);

CREATE FUNCTION commit_fence_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF clock_timestamp() > NEW.commit_by THEN
        RAISE EXCEPTION 'ringside: commit deadline passed (%), nothing applied', NEW.commit_by;
    END IF;
    DELETE FROM commit_fences WHERE id = NEW.id;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER commit_fence AFTER INSERT ON commit_fences
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION commit_fence_check();

-- Idempotency keys: a POST retried with the same `Idempotency-Key` (per
-- user, for 24 hours) answers the first answer and writes nothing. A request
-- claims the row (with a random `attempt`) before it runs; its write's own
-- transaction first sets `committed`, only if the row is still its attempt's
-- (so a superseded attempt applies nothing, and the row stays locked until
-- that write ends); the answer is kept only for a committed attempt (a
-- refused or failed request releases its key, and a retry runs anew).
CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash BYTEA NOT NULL,
    attempt BIGINT NOT NULL,
    committed BOOLEAN NOT NULL DEFAULT false,
    status SMALLINT,
    content_type TEXT,
    response BYTEA,
    locked_until TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key),
    CHECK ((status IS NULL) = (response IS NULL))
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

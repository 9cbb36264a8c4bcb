-- Accounts and the shared `updated_at` trigger every table with that column uses.

CREATE FUNCTION ringside_touch_updated_at() RETURNS trigger AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TABLE users (
    id              BIGSERIAL PRIMARY KEY,
    -- Stored lower-cased so uniqueness is case-insensitive without citext.
    email           TEXT NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    password_hash   TEXT NOT NULL,
    display_name    TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 50),
    role            TEXT NOT NULL DEFAULT 'viewer'
                    CHECK (role IN ('viewer', 'reporter', 'moderator', 'admin')),
    is_verified     BOOLEAN NOT NULL DEFAULT false,
    -- IANA zone name; quiet hours for push are read in it.
    timezone        TEXT NOT NULL DEFAULT 'UTC',
    -- Set while the account is banned: its tokens stop working at once.
    banned_at       TIMESTAMPTZ,
    ban_reason      TEXT,
    last_login_at   TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX users_role_idx ON users (role) WHERE role <> 'viewer';

CREATE TRIGGER users_touch BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION ringside_touch_updated_at();

-- Tokens carry the account's version; bumping it (a password change, "sign
-- out everywhere") refuses every token signed before.
ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;

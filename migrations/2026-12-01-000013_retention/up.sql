-- History with an end: what the retention job and the outbox sweep walk.

-- The sweep of deliveries nobody managed before they expired (per platform).
CREATE INDEX notification_deliveries_expiry_idx ON notification_deliveries (platform, expires_at)
    WHERE status IN ('pending', 'in_flight');
-- Ended deliveries, oldest first, for pruning.
CREATE INDEX notification_deliveries_created_idx ON notification_deliveries (created_at)
    WHERE status IN ('sent', 'failed', 'invalid_token', 'expired');
-- Old stored messages, for cutting history.
CREATE INDEX channel_messages_created_idx ON channel_messages (created_at);

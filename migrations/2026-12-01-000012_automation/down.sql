DELETE FROM moderation_actions WHERE action IN ('automation', 'cancel_automation')
    OR target_type IN ('fight', 'poll', 'job');
ALTER TABLE moderation_actions DROP CONSTRAINT moderation_actions_target_type_check;
ALTER TABLE moderation_actions ADD CONSTRAINT moderation_actions_target_type_check
    CHECK (target_type IN ('comment', 'user', 'event', 'update', 'report'));
ALTER TABLE moderation_actions DROP CONSTRAINT moderation_actions_action_check;
ALTER TABLE moderation_actions ADD CONSTRAINT moderation_actions_action_check
    CHECK (action IN ('hide_comment', 'delete_comment', 'restore_comment',
        'auto_hide_comment', 'hold_comment', 'mute_user', 'unmute_user', 'ban_user',
        'unban_user', 'slow_mode', 'approve_update', 'reject_update', 'dismiss_report'));
DROP TABLE automation_jobs;
ALTER TABLE polls DROP COLUMN closes_at;

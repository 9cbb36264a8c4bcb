DROP TABLE channel_messages;
DROP TABLE channel_sequences;
DROP TABLE judge_scores;
DROP TABLE live_updates;
ALTER TABLE live_events DROP CONSTRAINT live_events_current_fight_fk;
DROP TABLE live_fights;
DROP TABLE live_events;

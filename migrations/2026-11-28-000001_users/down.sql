DROP TABLE users;
DROP FUNCTION ringside_touch_updated_at();

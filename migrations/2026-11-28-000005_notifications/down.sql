DROP TABLE notification_deliveries;
DROP TABLE notification_preferences;
DROP TABLE devices;
DROP TABLE push_notifications;

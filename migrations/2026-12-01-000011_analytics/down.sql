DROP TABLE cluster_nodes;
DROP TABLE analytics_viewers;
DROP TABLE analytics;

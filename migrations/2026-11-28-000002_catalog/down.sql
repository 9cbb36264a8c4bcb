DROP TABLE articles;
DROP TABLE media_assets;
DROP TABLE rankings;
DROP TABLE fights;
DROP TABLE events;
DROP TABLE fighters;
DROP TABLE divisions;

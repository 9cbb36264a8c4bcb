DROP TABLE reaction_totals;

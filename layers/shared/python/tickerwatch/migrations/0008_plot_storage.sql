-- Plots are base64 text of PNGs, which are deflated already: pglz tries each one and gives up
-- (250 KB stored as 250 KB), which costs a few milliseconds on every forecast drawn. Stored out of
-- line without the attempt.
ALTER TABLE prediction_results ALTER COLUMN plots SET STORAGE EXTERNAL;
ALTER TABLE prediction_results ALTER COLUMN plots_json SET STORAGE EXTERNAL;

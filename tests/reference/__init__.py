"""Reference models: plain, obviously correct Python versions of the engines (the paper broker, the
alert evaluator), written from the rules as the README states them, to test the real ones against."""

"""tickerwatch: stock predictions and price alerts on AWS Lambda and Postgres."""

__version__ = "0.1.0"

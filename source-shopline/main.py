"""`python main.py spec|check|discover|read ...` runs the connector as Airbyte does."""

from source_shopline.run import run

if __name__ == "__main__":
    run()

"""What every layer may use: user-facing errors and where evoforge keeps things. Imports nothing of the project."""

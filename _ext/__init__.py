"""The book's own build code: the notebooks extension, student notebooks, the editions."""

"""Functions that build pages from components. No queries here: data arrives via callbacks."""

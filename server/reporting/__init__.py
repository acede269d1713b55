"""Report figures from the store: summaries of a window or a clerk, 三比 comparisons, table exports and the
scheduled daily and monthly reports."""

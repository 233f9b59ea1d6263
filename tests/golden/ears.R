# Golden values of surveillance::earsC (C1, C2, C3; alpha = 0.05; baseline = 7) for
# tests/golden/ears_series.csv.  Run from the repository root:  Rscript tests/golden/ears.R
suppressPackageStartupMessages(library(surveillance))

series <- read.csv("tests/golden/ears_series.csv", stringsAsFactors = FALSE)
y <- series$short_rise
s <- sts(observed = matrix(y, ncol = 1), start = c(2023, 7), frequency = 12)
rows <- list()
for (method in c("C1", "C2", "C3")) {
  res <- earsC(s, control = list(method = method, alpha = 0.05, baseline = 7))
  range <- res@control$range
  rows[[method]] <- data.frame(method = method, period = series$period[range],
                               observed = y[range], upper = res@upperbound[, 1],
                               alarm = as.integer(res@alarm[, 1]))
}
out <- do.call(rbind, rows)
write.csv(out, "tests/golden/ears.csv", row.names = FALSE)
cat(sprintf("R %s, surveillance %s: %d rows\n", getRversion(), packageVersion("surveillance"), nrow(out)))

# R's surveillance::farringtonFlexible (Noufaily settings, monthly) on every series of a long CSV,
# in one R process.  Usage:  Rscript benchmarks/r_farrington.R IN.csv OUT.csv SCORE_FROM ALPHA
#   IN.csv   columns series_id, t (1-based month number), count
#   OUT.csv  series_id, t, expected, upper, alarm (scored months t > SCORE_FROM), seconds (CPU time
#            spent in farringtonFlexible for the series, repeated on its rows)
suppressPackageStartupMessages(library(surveillance))
args <- commandArgs(trailingOnly = TRUE)
data <- read.csv(args[1], stringsAsFactors = FALSE)
score_from <- as.integer(args[3])
alpha <- as.numeric(args[4])
ids <- unique(data$series_id)
by_id <- split(data, data$series_id)
out <- vector("list", length(ids))
for (i in seq_along(ids)) {
  d <- by_id[[ids[i]]]
  d <- d[order(d$t), ]
  s <- sts(observed = matrix(d$count, ncol = 1), start = c(2014, 1), frequency = 12)
  range <- (score_from + 1):nrow(d)
  started <- sum(proc.time()[c("user.self", "sys.self")])  # CPU time: robust to a busy machine
  res <- farringtonFlexible(s, control = list(
    range = range, b = 5, w = 1, noPeriods = 10, reweight = TRUE, weightsThreshold = 2.58,
    pastWeeksNotIncluded = 6, trend = TRUE, pThresholdTrend = 1, thresholdMethod = "nbPlugin",
    populationOffset = FALSE, glmWarnings = FALSE, alpha = alpha, limit54 = c(5, 4)))
  seconds <- sum(proc.time()[c("user.self", "sys.self")]) - started
  out[[i]] <- data.frame(series_id = ids[i], t = range, expected = res@control$expected[, 1],
                         upper = res@upperbound[, 1], alarm = as.integer(res@alarm[, 1]),
                         seconds = seconds)
}
write.csv(do.call(rbind, out), args[2], row.names = FALSE)

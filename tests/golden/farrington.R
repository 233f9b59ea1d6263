# Golden values of surveillance::farringtonFlexible with Noufaily (2013) settings adapted to
# monthly data, for the series in tests/golden/series.csv.
# Run from the repository root:  Rscript tests/golden/farrington.R
# Writes tests/golden/farrington_noufaily.csv and tests/golden/farrington_design.csv.
suppressPackageStartupMessages(library(surveillance))

series <- read.csv("tests/golden/series.csv", check.names = FALSE, stringsAsFactors = FALSE)
periods <- series$period
n_scored <- 36
W <- 1  # half-width of the seasonal window, in months

control_for <- function(alpha, method, limit54) {
  list(range = (nrow(series) - n_scored + 1):nrow(series),
       b = 5, w = W, noPeriods = 10, reweight = TRUE, weightsThreshold = 2.58,
       pastWeeksNotIncluded = 6, trend = TRUE, pThresholdTrend = 1,
       thresholdMethod = method, populationOffset = FALSE, glmWarnings = FALSE,
       alpha = alpha, limit54 = limit54)
}

n_baseline <- function(y, k) {
  # number of non-missing months the GLM for month k is fitted on
  d <- surveillance:::algo.farrington.data.glm(
    dayToConsider = k, b = 5, freq = 12, epochAsDate = FALSE, epochStr = "none",
    vectorOfDates = seq_along(y), w = W, noPeriods = 10, observed = y,
    population = rep(1, length(y)), verbose = FALSE, pastWeeksNotIncluded = 6, k = k)
  nrow(d)
}

rows <- list()
for (name in setdiff(names(series), "period")) {
  y <- series[[name]]
  s <- sts(observed = matrix(y, ncol = 1), start = c(2014, 1), frequency = 12)
  for (alpha in c(0.05, 0.01)) {
    # limit54 = c(0, 4) disables the low-count guard so expected/upper exist for every month;
    # the default guard c(5, 4) is used for the alarm column.
    nb <- farringtonFlexible(s, control = control_for(alpha, "nbPlugin", c(0, 4)))
    guarded <- farringtonFlexible(s, control = control_for(alpha, "nbPlugin", c(5, 4)))
    mu0 <- nb@control$mu0Vector[, 1]
    phi <- nb@control$phiVector[, 1]
    # farringtonFlexible does not return the lower bound; this is its own formula
    # (surveillance:::algo.farrington.threshold.noufaily, lu[1]).
    lower <- ifelse(phi > 1, qnbinom(alpha, mu0 / pmax(phi - 1, 1e-300), 1 / phi), qpois(alpha, mu0))
    range <- control_for(alpha, "nbPlugin", c(0, 4))$range
    rows[[length(rows) + 1]] <- data.frame(
      series = name, period = periods[range], alpha = alpha,
      observed = y[range],
      expected = nb@control$expected[, 1],
      lower = pmax(0, lower),
      upper = nb@upperbound[, 1],
      p_value = nb@control$pvalue[, 1],
      dispersion = phi,
      trend = ifelse(is.na(nb@control$trend[, 1]), 0, nb@control$trend[, 1]),
      n_baseline = sapply(range, function(k) n_baseline(y, k)),
      alarm = as.integer(guarded@alarm[, 1]),
      score_r = nb@control$score[, 1])
  }
}
out <- do.call(rbind, rows)
write.csv(out, "tests/golden/farrington_noufaily.csv", row.names = FALSE)

# The design for one scored month, to show which past months enter the baseline and their
# seasonal level (10 = the window around the same calendar month in past years).
k <- nrow(series) - n_scored + 1
y <- series[["medium_seasonal_outbreak"]]
lev <- surveillance:::blocks(seq(k, by = -12, length.out = 6), seq_along(y), "none", k, 5, W, 10, FALSE)
lev[(k - 6):k] <- NA
idx <- which(!is.na(lev))
write.csv(data.frame(scored_period = periods[k], period = periods[idx], wtime = idx, level = lev[idx]),
          "tests/golden/farrington_design.csv", row.names = FALSE)
cat(sprintf("R %s, surveillance %s: %d rows\n", getRversion(), packageVersion("surveillance"), nrow(out)))

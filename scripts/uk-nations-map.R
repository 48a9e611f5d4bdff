# Writes web/src/dashboard/uk-nations.geo.json: the outlines of England,
# Scotland, Wales and Northern Ireland that the dashboard's Regions tab draws,
# named by their ISO 3166-2 codes as `visit:region` answers them.
#
# Source: Natural Earth's 1:50m admin-0 map units (public domain), as Debian
# packages them for R. The output is committed, so nobody needs R to build or
# run glasshouse; run this only to change the outlines:
#
#   apt-get install r-base-core r-cran-rnaturalearthdata r-cran-sp r-cran-sf
#   Rscript scripts/uk-nations-map.R
suppressMessages({
  library(sp)
  library(sf)
})
units <- rnaturalearthdata::map_units50
uk <- st_as_sf(units[units@data$adm0_a3 == "GBR", ])
codes <- c(ENG = "GB-ENG", SCT = "GB-SCT", WLS = "GB-WLS", NIR = "GB-NIR")
out <- st_sf(name = unname(codes[as.character(uk$gu_a3)]), geometry = st_geometry(uk))
stopifnot(setequal(out$name, codes))
path <- "web/src/dashboard/uk-nations.geo.json"
unlink(path)
# Three decimals: about 100 m, far finer than the map is drawn.
st_write(out, path, driver = "GeoJSON", layer_options = c("COORDINATE_PRECISION=3", "RFC7946=YES"), quiet = TRUE)

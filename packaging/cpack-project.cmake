# Read by cpack for each generator it runs (CPACK_PROJECT_CONFIG_FILE).
#
# A Debian package installs under /usr, and cachemux finds its plugins
# through a path fixed at configure time from CMAKE_INSTALL_PREFIX: a build
# configured for any other prefix would make packages that either put files
# where Debian forbids them (/usr/local) or look for plugins where the
# package did not put them.
if(CPACK_GENERATOR STREQUAL "DEB" AND NOT CPACK_CACHEMUX_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR
    "cachemux: this build tree was configured with CMAKE_INSTALL_PREFIX="
    "'${CPACK_CACHEMUX_INSTALL_PREFIX}'; Debian packages need a build configured "
    "with -DCMAKE_INSTALL_PREFIX=/usr (see packaging/README.md)")
endif()

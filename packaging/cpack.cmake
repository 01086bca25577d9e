# Debian packages: one .deb per install component (packaging/README.md).
#
#   cmake -S . -B build-deb -DCMAKE_INSTALL_PREFIX=/usr -DCACHEMUX_BUILD_TESTS=OFF
#   cmake --build build-deb -j && (cd build-deb && cpack -G DEB)
#
# Included at the very end of the top-level CMakeLists.txt: include(CPack)
# writes CPackConfig.cmake from what is defined at that point, so every
# install() rule must come before it.

set(CACHEMUX_PACKAGING_SOURCE_DIR ${CMAKE_CURRENT_LIST_DIR})
set(CACHEMUX_PACKAGING_BINARY_DIR ${CMAKE_BINARY_DIR}/packaging)

set(CACHEMUX_PACKAGE_MAINTAINER
    "cachemux maintainers <maintainers@cachemux.example.org>"
    CACHE STRING "Maintainer field of the Debian packages")
set(CACHEMUX_PACKAGE_HOMEPAGE "https://cachemux.example.org/"
    CACHE STRING "Homepage field of the Debian packages")
set(CACHEMUX_PACKAGE_RELEASE 1
    CACHE STRING "Debian revision of the packages (the part after the '-')")

# Install component -> package. Every component must be here: one that is not
# would silently be left out of the packages.
set(CACHEMUX_DEB_COMPONENTS cachemux plugin-memcache plugin-redis plugin-hash-extra dev)
set(CACHEMUX_DEB_PACKAGE_cachemux cachemux)
set(CACHEMUX_DEB_PACKAGE_plugin-memcache cachemux-plugin-memcache)
set(CACHEMUX_DEB_PACKAGE_plugin-redis cachemux-plugin-redis)
set(CACHEMUX_DEB_PACKAGE_plugin-hash-extra cachemux-plugin-hash-extra)
set(CACHEMUX_DEB_PACKAGE_dev cachemux-dev)

get_cmake_property(_cachemux_install_components COMPONENTS)
foreach(_component IN LISTS _cachemux_install_components)
  if(NOT _component IN_LIST CACHEMUX_DEB_COMPONENTS)
    message(FATAL_ERROR
      "install component '${_component}' belongs to no package: give the "
      "install() rule a COMPONENT, or add the component to packaging/cpack.cmake")
  endif()
endforeach()

# --- Files only the packages add ------------------------------------------

# Where systemd looks for the units of packages. Debian 12 keeps them in
# /lib/systemd/system (lintian wants them there, not in /usr/lib).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(CACHEMUX_SYSTEMD_UNIT_DIR /lib/systemd/system)
else()
  set(CACHEMUX_SYSTEMD_UNIT_DIR ${CMAKE_INSTALL_LIBDIR}/systemd/system)
endif()
set(CACHEMUX_CONF_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/cachemux)

configure_file(${CACHEMUX_PACKAGING_SOURCE_DIR}/cachemux.service.in
  ${CACHEMUX_PACKAGING_BINARY_DIR}/cachemux.service @ONLY)
configure_file(${CACHEMUX_PACKAGING_SOURCE_DIR}/cachemux.8
  ${CACHEMUX_PACKAGING_BINARY_DIR}/cachemux.8 @ONLY)  # the version
# The date of the changelog entry: now, or SOURCE_DATE_EPOCH when set.
string(TIMESTAMP CACHEMUX_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
configure_file(${CACHEMUX_PACKAGING_SOURCE_DIR}/changelog.in
  ${CACHEMUX_PACKAGING_BINARY_DIR}/changelog.Debian @ONLY)
# dpkg: these files are the admin's; an upgrade does not overwrite changes.
file(WRITE ${CACHEMUX_PACKAGING_BINARY_DIR}/conffiles "${CACHEMUX_CONF_DIR}/cachemux.yml\n")

# Debian wants the man page and changelog gzipped with -9 and without name or
# time stamp (-n), so that a rebuild gives the same bytes.
find_program(CACHEMUX_GZIP gzip REQUIRED)
set(_cachemux_gzipped)
foreach(_pair IN ITEMS "${CACHEMUX_PACKAGING_BINARY_DIR}/cachemux.8|cachemux.8"
                       "${CACHEMUX_PACKAGING_BINARY_DIR}/changelog.Debian|changelog.Debian")
  string(REPLACE "|" ";" _pair "${_pair}")
  list(GET _pair 0 _source)
  list(GET _pair 1 _name)
  set(_plain ${CACHEMUX_PACKAGING_BINARY_DIR}/gz/${_name})
  add_custom_command(OUTPUT ${_plain}.gz
    COMMAND ${CMAKE_COMMAND} -E copy ${_source} ${_plain}
    COMMAND ${CACHEMUX_GZIP} -9nf ${_plain}
    DEPENDS ${_source}
    COMMENT "Compressing ${_name}"
    VERBATIM)
  list(APPEND _cachemux_gzipped ${_plain}.gz)
endforeach()
add_custom_target(cachemux_packaging_files ALL DEPENDS ${_cachemux_gzipped})

# The cachemux package: man page, default configuration (a conffile), the
# service, and nutcracker's sample configuration as an example.
install(FILES ${CACHEMUX_PACKAGING_BINARY_DIR}/gz/cachemux.8.gz
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 COMPONENT cachemux)
install(FILES ${CACHEMUX_PACKAGING_SOURCE_DIR}/cachemux.yml
  DESTINATION ${CACHEMUX_CONF_DIR} COMPONENT cachemux)
install(FILES ${CACHEMUX_PACKAGING_BINARY_DIR}/cachemux.service
  DESTINATION ${CACHEMUX_SYSTEMD_UNIT_DIR} COMPONENT cachemux)
install(FILES ${PROJECT_SOURCE_DIR}/conf/nutcracker.yml
  DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/cachemux/examples COMPONENT cachemux)

# Every package has its copyright and changelog.Debian.gz in
# /usr/share/doc/<package>/, and its lintian overrides. Only package builds
# (which install one component at a time) get them: EXCLUDE_FROM_ALL keeps
# them out of a plain `cmake --install`.
foreach(_component IN LISTS CACHEMUX_DEB_COMPONENTS)
  set(_package ${CACHEMUX_DEB_PACKAGE_${_component}})
  install(FILES
      ${CACHEMUX_PACKAGING_SOURCE_DIR}/copyright
      ${CACHEMUX_PACKAGING_BINARY_DIR}/gz/changelog.Debian.gz
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${_package}
    COMPONENT ${_component} EXCLUDE_FROM_ALL)
  file(WRITE ${CACHEMUX_PACKAGING_BINARY_DIR}/lintian/${_package}
    "# These packages are built from the cachemux tree, not uploaded to Debian:\n"
    "# there is no ITP bug for the first changelog entry to close.\n"
    "${_package}: initial-upload-closes-no-bugs\n")
  install(FILES ${CACHEMUX_PACKAGING_BINARY_DIR}/lintian/${_package}
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/lintian/overrides
    COMPONENT ${_component} EXCLUDE_FROM_ALL)
endforeach()

# --- CPack ------------------------------------------------------------------

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cachemux)
set(CPACK_PACKAGE_VENDOR "cachemux")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${CACHEMUX_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_HOMEPAGE_URL "${CACHEMUX_PACKAGE_HOMEPAGE}")
# The binary has the plugin directory under the install prefix compiled in,
# so the packages must install exactly there (cpack-project.cmake checks
# that it is /usr).
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_CACHEMUX_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_PROJECT_CONFIG_FILE ${CACHEMUX_PACKAGING_SOURCE_DIR}/cpack-project.cmake)
set(CPACK_COMPONENTS_ALL ${CACHEMUX_DEB_COMPONENTS})
# Debug information stays in the build tree.
set(CPACK_STRIP_FILES ON)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${CACHEMUX_PACKAGE_RELEASE})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# Plugins and the SDK go with exactly the cachemux they were built with.
set(_cachemux_same_version
    "cachemux (= ${CPACK_PACKAGE_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE})")

foreach(_component IN LISTS CACHEMUX_DEB_COMPONENTS)
  string(TOUPPER ${_component} _upper)
  set(CPACK_DEBIAN_${_upper}_PACKAGE_NAME ${CACHEMUX_DEB_PACKAGE_${_component}})
  if(NOT _component STREQUAL "cachemux")
    set(CPACK_DEBIAN_${_upper}_PACKAGE_DEPENDS "${_cachemux_same_version}")
  endif()
endforeach()

# The descriptions: a synopsis line, then the long description (an empty line
# becomes a paragraph break). No double quotes: CPackConfig.cmake does not
# escape them, and they come out as ';'.
set(CPACK_DEBIAN_CACHEMUX_DESCRIPTION [=[
memcached and redis proxy, drop-in successor to twemproxy
cachemux is a proxy for memcached and redis servers. It reads the YAML
configuration of twemproxy (nutcracker), takes its command-line options,
and sends every key to the server nutcracker would have chosen, so a
cache fleet can switch from one to the other without a cold start.

Hash functions, key distributions and protocols are plugins. This package
holds the proxy, the cachemux.service systemd unit that runs it as the
unprivileged user cachemux on /etc/cachemux/cachemux.yml, and the
plugins for nutcracker's defaults: the fnv1a_64 hash and the ketama,
modula and random distributions. The memcached and redis protocols come
in cachemux-plugin-memcache and cachemux-plugin-redis.
]=])
set(CPACK_DEBIAN_CACHEMUX_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_CACHEMUX_PACKAGE_RECOMMENDS "cachemux-plugin-memcache, cachemux-plugin-redis")
set(CPACK_DEBIAN_CACHEMUX_PACKAGE_SUGGESTS "cachemux-plugin-hash-extra, memcached | redis-server")
set(CPACK_DEBIAN_CACHEMUX_PACKAGE_CONTROL_EXTRA
  ${CACHEMUX_PACKAGING_BINARY_DIR}/conffiles
  ${CACHEMUX_PACKAGING_SOURCE_DIR}/deb/postinst
  ${CACHEMUX_PACKAGING_SOURCE_DIR}/deb/prerm
  ${CACHEMUX_PACKAGING_SOURCE_DIR}/deb/postrm)

set(CPACK_DEBIAN_PLUGIN-MEMCACHE_DESCRIPTION [=[
memcached protocol plugin for cachemux
This plugin lets cachemux speak the memcached ASCII protocol, with clients
and with servers. Every pool that does not set redis: true in its
configuration needs it, the default pool in /etc/cachemux/cachemux.yml
included.
]=])

set(CPACK_DEBIAN_PLUGIN-REDIS_DESCRIPTION [=[
redis protocol plugin for cachemux
This plugin lets cachemux speak the redis protocol (RESP), with clients
and with servers. The pools that set redis: true in their configuration
need it.
]=])

set(CPACK_DEBIAN_PLUGIN-HASH-EXTRA_DESCRIPTION [=[
additional hash function plugins for cachemux
The hash functions of nutcracker other than its default (fnv1a_64, which
comes with cachemux), each a plugin named after the value it gives a
pool's hash key: one_at_a_time, md5, crc16, crc32, crc32a, fnv1_64, fnv1_32,
fnv1a_32, hsieh, murmur and jenkins.
]=])

set(CPACK_DEBIAN_DEV_DESCRIPTION [=[
SDK for building cachemux plugins
The headers a cachemux plugin is built against (the plugin and protocol
ABIs) and a CMake package: after find_package(cachemux), the target
cachemux::plugin and the function cachemux_add_plugin() build a hash,
distribution or protocol plugin that the installed cachemux can load.
]=])
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${_cachemux_same_version}, libboost-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS "cmake")

include(CPack)

# `make deb` (RAMPART_PACKAGE=ON): the Debian package, built by CPack's DEB generator from the
# install rules below. Why CPack and not debhelper: the package is made from the binary this
# build already produced (no second build from a source package), its version and architecture
# come from this CMakeLists.txt, and CPack runs Debian's dpkg-shlibdeps for Depends:. The parts
# debhelper would add are written out here: the maintainer scripts in packaging/debian/ (with
# deb-systemd-helper / deb-systemd-invoke as dh_installsystemd writes them), conffiles, the
# compressed man pages and changelog, copyright. docs/operations.md explains the layout.
find_program(PANDOC pandoc REQUIRED)
find_program(GZIP gzip REQUIRED)

# The Maintainer: field (and the changelog's trailer). A placeholder address: set it to whoever
# ships the package (-DRAMPART_MAINTAINER="Name <mail>").
set(RAMPART_MAINTAINER "Rampart maintainers <maintainers@rampart-edge.org>"
    CACHE STRING "Maintainer of the Debian package")
set(pkg_dir ${CMAKE_SOURCE_DIR}/packaging)
set(gen ${CMAKE_BINARY_DIR}/package)
file(MAKE_DIRECTORY ${gen})

# Man pages: one Markdown source each (docs/man/), rendered by pandoc, gzipped reproducibly.
set(man_outputs)
foreach(page rampart.8 rampart.yaml.5)
  string(REGEX MATCH "[0-9]$" sect ${page})
  add_custom_command(OUTPUT ${gen}/${page}.gz
    COMMAND ${PANDOC} --standalone --from markdown --to man
            ${CMAKE_SOURCE_DIR}/docs/man/${page}.md -o ${gen}/${page}
    COMMAND ${GZIP} -9nf ${gen}/${page}
    DEPENDS ${CMAKE_SOURCE_DIR}/docs/man/${page}.md
    COMMENT "Man page ${page} (pandoc)" VERBATIM)
  list(APPEND man_outputs ${gen}/${page}.gz)
  install(FILES ${gen}/${page}.gz DESTINATION share/man/man${sect})
endforeach()

# The changelog carries the project's version (a native package: changelog.gz).
configure_file(${pkg_dir}/debian/changelog ${gen}/changelog @ONLY)
add_custom_command(OUTPUT ${gen}/changelog.gz
  COMMAND ${GZIP} -9nkf ${gen}/changelog
  DEPENDS ${gen}/changelog
  COMMENT "Debian changelog" VERBATIM)
add_custom_target(rampart_package_files ALL DEPENDS ${man_outputs} ${gen}/changelog.gz)

install(FILES ${gen}/changelog.gz ${pkg_dir}/debian/copyright DESTINATION share/doc/rampart)
install(FILES ${pkg_dir}/rampart.yaml DESTINATION /etc/rampart
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${pkg_dir}/rampart.service DESTINATION /lib/systemd/system)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rampart)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${RAMPART_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "self-hosted L4 TCP/UDP edge with L4 protection")
set(CPACK_PACKAGE_DESCRIPTION
    "Rampart stands in front of services that do not speak HTTP (SSH, RDP,
databases, game servers, MQTT, mail) and protects them: clients connect to the
edge, which opens its own connection to the origin (whose address stays
hidden), stops connection floods, per-source abuse, UDP floods and reflection,
junk payloads and slow clients, and keeps per-app analytics and connection
logs. It prints the firewall rules that lock the origin down to the edge.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # rampart_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${pkg_dir}/debian/conffiles ${pkg_dir}/debian/postinst ${pkg_dir}/debian/prerm
    ${pkg_dir}/debian/postrm)
set(CPACK_OUTPUT_FILE_PREFIX ${CMAKE_BINARY_DIR})
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/cpack)
include(CPack)

# The Debian package: `cmake --build build/release --target package` writes
# build/release/pier_VERSION_amd64.deb with the binary, the library with its headers and CMake
# package, man pages generated from --help (help2man), bash completion and the systemd units.
# The install prefix of the package is /usr whatever CMAKE_INSTALL_PREFIX is.
find_program(HELP2MAN help2man)
if(HELP2MAN AND PIER_BUILD_APP)
  set(man_dir ${PROJECT_BINARY_DIR}/man)
  set(pages)
  set(what_ "a microservice infrastructure runtime")
  set(what_cache "the Redis-compatible cache server")
  set(what_registry "the service registry (Consul's HTTP API, health checks)")
  set(what_queue "the durable message queue")
  set(what_proxy "the HTTP and TCP reverse proxy")
  set(what_up "run a system from its architecture spec")
  foreach(cmd "" cache registry queue proxy up)
    if(cmd STREQUAL "")
      set(page pier)
      set(wrapper $<TARGET_FILE:pier>)
    else()
      set(page pier-${cmd})
      # help2man runs a program: a one-line wrapper named after the page that is `pier CMD`.
      set(wrapper ${man_dir}/bin/${page})
      file(GENERATE OUTPUT ${wrapper}
           CONTENT "#!/bin/sh\nexec \"$<TARGET_FILE:pier>\" ${cmd} \"$@\"\n"
           FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                            WORLD_READ WORLD_EXECUTE)
    endif()
    add_custom_command(OUTPUT ${man_dir}/${page}.1.gz
      COMMAND ${HELP2MAN} --no-info --no-discard-stderr "--name=${what_${cmd}}"
              --version-string=${PROJECT_VERSION} --output=${man_dir}/${page}.1 ${wrapper}
      COMMAND gzip -9nf ${man_dir}/${page}.1
      DEPENDS pier VERBATIM)
    list(APPEND pages ${man_dir}/${page}.1.gz)
  endforeach()
  add_custom_target(man ALL DEPENDS ${pages})
  install(FILES ${pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()
install(FILES packaging/pier.bash-completion DESTINATION share/bash-completion/completions
        RENAME pier)

string(TIMESTAMP PIER_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
configure_file(packaging/debian/changelog.in ${PROJECT_BINARY_DIR}/debian/changelog @ONLY)
add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/debian/changelog.gz
  COMMAND gzip -9n -c ${PROJECT_BINARY_DIR}/debian/changelog
          > ${PROJECT_BINARY_DIR}/debian/changelog.gz
  DEPENDS ${PROJECT_BINARY_DIR}/debian/changelog)
add_custom_target(debian_changelog ALL DEPENDS ${PROJECT_BINARY_DIR}/debian/changelog.gz)
install(FILES ${PROJECT_BINARY_DIR}/debian/changelog.gz packaging/debian/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pier)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "pier maintainers <maintainers@users.noreply.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "microservice infrastructure runtime")
set(CPACK_PACKAGE_DESCRIPTION
    "One binary for a team of services: a registry with health checks, a proxy that\nbalances with circuit breakers, a Redis-compatible cache, a durable message\nqueue, deployments and a performance analyzer; the C++ library, its headers\nand its CMake package.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)  # the binary; the static libraries' debug info goes below
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/cmake/strip_archives.cmake)
include(CPack)

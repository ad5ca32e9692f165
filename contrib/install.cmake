# `cmake --install BUILD [--prefix PREFIX]`: docket and docket-net side by
# side in PREFIX/bin (docket runs docket-net from its own folder), the
# default notification templates, the manual page made from the binary's
# own --help texts, the systemd unit with this prefix's paths, and the
# example configuration with the Postfix snippets, and the API's OpenAPI
# description.
set(DOCKET_SYSTEMD_UNIT_DIR "lib/systemd/system"
  CACHE STRING "where the systemd unit is installed (relative: below the prefix)")
set(DOCKET_DOC_DIR "${CMAKE_INSTALL_DATADIR}/doc/docket")

install(TARGETS docket docket-net RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(DIRECTORY ${CMAKE_SOURCE_DIR}/templates/default/
  DESTINATION ${CMAKE_INSTALL_DATADIR}/docket/templates)

# The manual page: every command's --help (sanitizer builds: no leak
# report in the way of a help text).
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/docket.1
  COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=0
    sh ${CMAKE_SOURCE_DIR}/contrib/man/make-man.sh $<TARGET_FILE:docket> ${CMAKE_BINARY_DIR}/docket.1
  DEPENDS docket docket-net ${CMAKE_SOURCE_DIR}/contrib/man/make-man.sh
  COMMENT "Making the manual page docket.1")
add_custom_target(docket-man ALL DEPENDS ${CMAKE_BINARY_DIR}/docket.1)
install(FILES ${CMAKE_BINARY_DIR}/docket.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# The unit names the binary and the configuration where they are
# installed: PREFIX/bin/docket and PREFIX/etc/docket/docket.conf, or
# /etc/docket/docket.conf for the prefix /usr (worked out when installing,
# so that --prefix counts).
install(CODE "
  set(prefix \"\${CMAKE_INSTALL_PREFIX}\")
  if(prefix STREQUAL \"/usr\")
    set(etc \"/etc\")
  else()
    set(etc \"\${prefix}/etc\")
  endif()
  file(READ \"${CMAKE_SOURCE_DIR}/contrib/systemd/docket.service\" unit)
  string(REPLACE \"/usr/local/bin/docket\" \"\${prefix}/${CMAKE_INSTALL_BINDIR}/docket\" unit \"\${unit}\")
  string(REPLACE \"/etc/docket/\" \"\${etc}/docket/\" unit \"\${unit}\")
  file(WRITE \"${CMAKE_BINARY_DIR}/docket.service.installed\" \"\${unit}\")
")
install(FILES ${CMAKE_BINARY_DIR}/docket.service.installed
  DESTINATION ${DOCKET_SYSTEMD_UNIT_DIR} RENAME docket.service)

install(FILES ${CMAKE_SOURCE_DIR}/contrib/docket.conf.example ${CMAKE_SOURCE_DIR}/README.md
  ${CMAKE_SOURCE_DIR}/contrib/openapi.yaml ${CMAKE_SOURCE_DIR}/contrib/nginx-docket.conf
  DESTINATION ${DOCKET_DOC_DIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/contrib/postfix DESTINATION ${DOCKET_DOC_DIR})

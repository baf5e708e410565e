# Locates a *configured* nginx source tree for building the dynamic module.
#
# A module's binary signature must match the nginx that loads it, so the tree has to be configured
# with the same flags as that binary. Two cases:
#  - default: Debian's nginx-dev (/usr/share/nginx/src) ships an unconfigured tree plus the exact
#    flags of the packaged binary in `conf_flags`; we copy it into the build dir and run configure
#    with those flags (the copy keeps /usr/share untouched).
#  - -DNGINX_SRC_DIR=/path/to/nginx-x.y.z: a tree the user built their nginx from. If it has not
#    been configured yet, we configure a copy with NGINX_CONFIGURE_ARGS (default: --with-compat);
#    pass the arguments `nginx -V` prints for your binary.
set(NGINX_SRC_DIR "/usr/share/nginx/src" CACHE PATH "nginx source tree (configured or not)")
set(NGINX_CONFIGURE_ARGS "" CACHE STRING "configure arguments for an unconfigured tree (default: conf_flags file, else --with-compat)")

if(NOT EXISTS "${NGINX_SRC_DIR}/src/core/nginx.h")
  message(FATAL_ERROR "NGINX_SRC_DIR=${NGINX_SRC_DIR} is not an nginx source tree. "
                      "Install Debian's nginx-dev or pass -DNGINX_SRC_DIR=<your nginx source>.")
endif()

if(EXISTS "${NGINX_SRC_DIR}/objs/ngx_auto_config.h")
  set(NGINX_TREE "${NGINX_SRC_DIR}")
else()
  set(NGINX_TREE "${CMAKE_BINARY_DIR}/nginx-src")
  if(NOT EXISTS "${NGINX_TREE}/objs/ngx_auto_config.h")
    set(_args "${NGINX_CONFIGURE_ARGS}")
    if(_args STREQUAL "" AND EXISTS "${NGINX_SRC_DIR}/conf_flags")
      # conf_flags is a bash array assignment: NGX_CONF_FLAGS=( --a --b ... )
      file(READ "${NGINX_SRC_DIR}/conf_flags" _flags)
      string(REGEX REPLACE ".*\\(([^)]*)\\).*" "\\1" _args "${_flags}")
      string(STRIP "${_args}" _args)
    endif()
    if(_args STREQUAL "")
      set(_args "--with-compat")
    endif()
    separate_arguments(_arglist UNIX_COMMAND "${_args}")
    message(STATUS "Configuring nginx tree copy in ${NGINX_TREE} with: ${_args}")
    file(REMOVE_RECURSE "${NGINX_TREE}")
    file(COPY "${NGINX_SRC_DIR}/" DESTINATION "${NGINX_TREE}")
    execute_process(COMMAND ./configure ${_arglist}
                    WORKING_DIRECTORY "${NGINX_TREE}"
                    RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_VARIABLE _err)
    if(NOT _rc EQUAL 0 OR NOT EXISTS "${NGINX_TREE}/objs/ngx_auto_config.h")
      message(FATAL_ERROR "nginx configure failed in ${NGINX_TREE}: ${_err}")
    endif()
  endif()
endif()

set(NGINX_INCLUDE_DIRS
    ${NGINX_TREE}/src/core ${NGINX_TREE}/src/event ${NGINX_TREE}/src/event/modules
    ${NGINX_TREE}/src/os/unix ${NGINX_TREE}/src/http ${NGINX_TREE}/src/http/modules
    ${NGINX_TREE}/src/http/v2 ${NGINX_TREE}/objs)
message(STATUS "nginx headers from ${NGINX_TREE}")

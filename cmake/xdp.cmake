# The XDP fast path (src/xdp, docs/xdp.md). With libbpf (pkg-config) and clang, guard.bpf.c is
# compiled with `clang -target bpf`, embedded into the library as a byte array and loaded by
# loader.cc; without them loader_stub.cc logs one line and the guard runs in userspace only.
option(RAMPART_XDP "Build the XDP fast path when libbpf and clang are found" ON)
set(RAMPART_HAVE_LIBBPF OFF)
if(RAMPART_XDP)
  pkg_check_modules(LIBBPF IMPORTED_TARGET libbpf)
  find_program(RAMPART_BPF_CLANG NAMES clang clang-14)
  if(LIBBPF_FOUND AND RAMPART_BPF_CLANG)
    set(RAMPART_HAVE_LIBBPF ON)
  else()
    message(STATUS "XDP fast path: libbpf or clang not found; building the userspace-only stub")
  endif()
endif()

set(xdp_dir ${CMAKE_SOURCE_DIR}/src/xdp)
set(xdp_srcs ${xdp_dir}/map_plan.cc ${xdp_dir}/counters.cc ${xdp_dir}/udp_generations.cc)
if(RAMPART_HAVE_LIBBPF)
  set(bpf_obj ${CMAKE_BINARY_DIR}/generated/guard.bpf.o)
  set(bpf_cc ${CMAKE_BINARY_DIR}/generated/guard_bpf_object.cc)
  set(bpf_arch_include /usr/include/${CMAKE_LIBRARY_ARCHITECTURE})
  add_custom_command(OUTPUT ${bpf_obj}
    COMMAND ${RAMPART_BPF_CLANG} -O2 -g -Wall -Werror -target bpf -I${bpf_arch_include}
            -I${CMAKE_SOURCE_DIR}/src -c ${xdp_dir}/guard.bpf.c -o ${bpf_obj}
    DEPENDS ${xdp_dir}/guard.bpf.c ${xdp_dir}/shared_types.h ${xdp_dir}/bans_map.bpf.h
            ${xdp_dir}/gcra.bpf.h
    COMMENT "Compiling the XDP program (clang -target bpf)" VERBATIM)
  add_custom_command(OUTPUT ${bpf_cc}
    COMMAND ${CMAKE_COMMAND} -DIN=${bpf_obj} -DOUT=${bpf_cc} -P ${CMAKE_SOURCE_DIR}/cmake/embed_bpf.cmake
    DEPENDS ${bpf_obj} ${CMAKE_SOURCE_DIR}/cmake/embed_bpf.cmake
    COMMENT "Embedding the XDP program" VERBATIM)
  # The UDP generation selector (SK_REUSEPORT, docs/upgrade.md), built and embedded the same way.
  set(rrp_obj ${CMAKE_BINARY_DIR}/generated/reuseport.bpf.o)
  set(rrp_cc ${CMAKE_BINARY_DIR}/generated/reuseport_bpf_object.cc)
  add_custom_command(OUTPUT ${rrp_obj}
    COMMAND ${RAMPART_BPF_CLANG} -O2 -g -Wall -Werror -target bpf -I${bpf_arch_include}
            -I${CMAKE_SOURCE_DIR}/src -c ${xdp_dir}/reuseport.bpf.c -o ${rrp_obj}
    DEPENDS ${xdp_dir}/reuseport.bpf.c ${xdp_dir}/reuseport_types.h
    COMMENT "Compiling the reuseport program (clang -target bpf)" VERBATIM)
  add_custom_command(OUTPUT ${rrp_cc}
    COMMAND ${CMAKE_COMMAND} -DIN=${rrp_obj} -DOUT=${rrp_cc} -DNAME=kReuseportBpfObject
            -P ${CMAKE_SOURCE_DIR}/cmake/embed_bpf.cmake
    DEPENDS ${rrp_obj} ${CMAKE_SOURCE_DIR}/cmake/embed_bpf.cmake
    COMMENT "Embedding the reuseport program" VERBATIM)
  # The sockmap relay of plain-TCP connections (kernel_relay, docs/kernel-relay.md).
  set(ktr_obj ${CMAKE_BINARY_DIR}/generated/relay_tcp.bpf.o)
  set(ktr_cc ${CMAKE_BINARY_DIR}/generated/relay_tcp_bpf_object.cc)
  add_custom_command(OUTPUT ${ktr_obj}
    COMMAND ${RAMPART_BPF_CLANG} -O2 -g -Wall -Werror -target bpf -I${bpf_arch_include}
            -I${CMAKE_SOURCE_DIR}/src -c ${xdp_dir}/relay_tcp.bpf.c -o ${ktr_obj}
    DEPENDS ${xdp_dir}/relay_tcp.bpf.c ${CMAKE_SOURCE_DIR}/src/tcp/kernel_relay_types.h
    COMMENT "Compiling the sockmap relay program (clang -target bpf)" VERBATIM)
  add_custom_command(OUTPUT ${ktr_cc}
    COMMAND ${CMAKE_COMMAND} -DIN=${ktr_obj} -DOUT=${ktr_cc} -DNAME=kRelayTcpBpfObject
            -P ${CMAKE_SOURCE_DIR}/cmake/embed_bpf.cmake
    DEPENDS ${ktr_obj} ${CMAKE_SOURCE_DIR}/cmake/embed_bpf.cmake
    COMMENT "Embedding the sockmap relay program" VERBATIM)
  # The UDP kernel relay (tc, docs/kernel-relay-udp.md), built and embedded the same way.
  set(rly_obj ${CMAKE_BINARY_DIR}/generated/relay_udp.bpf.o)
  set(rly_cc ${CMAKE_BINARY_DIR}/generated/relay_udp_bpf_object.cc)
  add_custom_command(OUTPUT ${rly_obj}
    COMMAND ${RAMPART_BPF_CLANG} -O2 -g -Wall -Werror -target bpf -I${bpf_arch_include}
            -I${CMAKE_SOURCE_DIR}/src -c ${xdp_dir}/relay_udp.bpf.c -o ${rly_obj}
    DEPENDS ${xdp_dir}/relay_udp.bpf.c ${xdp_dir}/relay_types.h ${xdp_dir}/shared_types.h
            ${xdp_dir}/bans_map.bpf.h ${xdp_dir}/gcra.bpf.h
    COMMENT "Compiling the UDP relay program (clang -target bpf)" VERBATIM)
  add_custom_command(OUTPUT ${rly_cc}
    COMMAND ${CMAKE_COMMAND} -DIN=${rly_obj} -DOUT=${rly_cc} -DNAME=kRelayUdpBpfObject
            -P ${CMAKE_SOURCE_DIR}/cmake/embed_bpf.cmake
    DEPENDS ${rly_obj} ${CMAKE_SOURCE_DIR}/cmake/embed_bpf.cmake
    COMMENT "Embedding the UDP relay program" VERBATIM)
  list(APPEND xdp_srcs ${xdp_dir}/loader.cc ${xdp_dir}/tcp_relay_loader.cc ${xdp_dir}/relay_udp.cc
       ${bpf_cc} ${rrp_cc} ${ktr_cc} ${rly_cc})
else()
  list(APPEND xdp_srcs ${xdp_dir}/loader_stub.cc ${xdp_dir}/tcp_relay_loader_stub.cc
       ${xdp_dir}/relay_udp_stub.cc)
endif()
add_library(rampart_xdp STATIC ${xdp_srcs})
target_include_directories(rampart_xdp PUBLIC ${CMAKE_SOURCE_DIR}/src ${CMAKE_BINARY_DIR}/generated)
target_link_libraries(rampart_xdp PUBLIC rampart_tcp rampart_guard rampart_config rampart_core rampart_net nlohmann_json::nlohmann_json)
if(RAMPART_HAVE_LIBBPF)
  target_link_libraries(rampart_xdp PUBLIC PkgConfig::LIBBPF)
  target_compile_definitions(rampart_xdp PUBLIC RAMPART_HAVE_LIBBPF=1)
endif()
target_link_libraries(rampart_edge PUBLIC rampart_xdp)
# The UDP data plane hands established flows to the kernel relay (xdp/relay_udp.h).
target_link_libraries(rampart_udp PUBLIC rampart_xdp)

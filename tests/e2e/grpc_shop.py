# SPDX-License-Identifier: BSD-2-Clause
"""A gRPC server and client for the e2e tests, with Debian's python3-grpcio
(run by /usr/bin/python3: `grpc_shop.py server PORT` or `grpc_shop.py
client PORT`). The stubs are generated at start with grpc_tools.protoc
(python3-grpc-tools) from the proto below; string fields carry canaries.

The client makes: Get x3 (one with gzip-compressed messages), Get of a
missing user (NOT_FOUND, grpc-status 5), List (server streaming, 4 users),
Upload (client streaming, 3 users), Chat (bidirectional, 2 each way)."""
import os
import sys
import tempfile
import time

PROTO = """
syntax = "proto3";
package shop.v1;
message Address { string street = 1; int32 zip = 2; }
message User {
  string email = 1;
  int64 id = 2;
  Address address = 3;
  repeated string tags = 4;
  double score = 5;
  bytes blob = 6;
}
message GetRequest { int64 id = 1; string note = 2; }
message Ack { int32 count = 1; }
service Users {
  rpc Get(GetRequest) returns (User);
  rpc List(GetRequest) returns (stream User);
  rpc Upload(stream User) returns (Ack);
  rpc Chat(stream User) returns (stream User);
}
"""

EMAIL = "canary.grpc.person@example.org"
STREET = "CanaryStreetZq9 12"
NOTE = "CanaryNoteTok3nXy7"
TAG = "CanaryTagVal5Wq"


def stubs():
    d = tempfile.mkdtemp(prefix="apisonar-grpc-")
    with open(os.path.join(d, "shop.proto"), "w") as f:
        f.write(PROTO)
    from grpc_tools import protoc
    rc = protoc.main(["protoc", "-I" + d, "--python_out=" + d, "--grpc_python_out=" + d,
                      os.path.join(d, "shop.proto")])
    if rc != 0:
        sys.exit("protoc failed: %d" % rc)
    sys.path.insert(0, d)
    import shop_pb2
    import shop_pb2_grpc
    return shop_pb2, shop_pb2_grpc


def user(pb, i):
    return pb.User(email=EMAIL, id=1000 + i, address=pb.Address(street=STREET, zip=75001),
                   tags=[TAG, "beta"], score=0.5, blob=b"\x00\xff\x10")


def server(port):
    import grpc
    from concurrent import futures
    pb, pbg = stubs()

    class Users(pbg.UsersServicer):
        def Get(self, req, ctx):
            if req.id == 404:
                ctx.abort(grpc.StatusCode.NOT_FOUND, "no such user")
            return user(pb, req.id)

        def List(self, req, ctx):
            for i in range(4):
                yield user(pb, i)

        def Upload(self, it, ctx):
            return pb.Ack(count=sum(1 for _ in it))

        def Chat(self, it, ctx):
            for u in it:
                yield u

    s = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    pbg.add_UsersServicer_to_server(Users(), s)
    s.add_insecure_port("127.0.0.1:%d" % port)
    s.start()
    print("ready", flush=True)
    s.wait_for_termination()


def client(port):
    import grpc
    pb, pbg = stubs()
    with grpc.insecure_channel("127.0.0.1:%d" % port) as ch:
        st = pbg.UsersStub(ch)
        for i in range(2):
            assert st.Get(pb.GetRequest(id=i, note=NOTE)).email == EMAIL
        assert st.Get(pb.GetRequest(id=7, note=NOTE), compression=grpc.Compression.Gzip).id == 1007
        try:
            st.Get(pb.GetRequest(id=404, note=NOTE))
            sys.exit("NOT_FOUND expected")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.NOT_FOUND
        assert len(list(st.List(pb.GetRequest(id=1)))) == 4
        assert st.Upload(iter([user(pb, i) for i in range(3)])).count == 3
        assert len(list(st.Chat(iter([user(pb, i) for i in range(2)])))) == 2
    time.sleep(0.2)
    print("done", flush=True)


if __name__ == "__main__":
    {"server": server, "client": client}[sys.argv[1]](int(sys.argv[2]))

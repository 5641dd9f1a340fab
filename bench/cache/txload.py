"""A load generator for transactions (redis-benchmark has no MULTI/EXEC test): `clients`
processes, each on one connection, send batches of `MULTI; SET k v; GET k; EXISTS k; EXEC` and
read back replies whose bytes are known in advance, so the client spends almost nothing per
transaction beyond the syscalls. Returns transactions per second over all clients."""
import multiprocessing
import socket
import time


def _command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def _client(port, key, batches, per_batch, ready, go, result):
    tx = (_command(b"MULTI") + _command(b"SET", key, b"v") + _command(b"GET", key) +
          _command(b"EXISTS", key) + _command(b"EXEC"))
    want = b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n$1\r\nv\r\n:1\r\n"
    batch, expect = tx * per_batch, len(want) * per_batch
    s = socket.create_connection(("127.0.0.1", port))
    ready.release()
    go.wait()
    start = time.perf_counter()
    for _ in range(batches):
        s.sendall(batch)
        got = 0
        while got < expect:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise RuntimeError("server closed the connection")
            got += len(chunk)
    result.put((batches * per_batch, time.perf_counter() - start))
    s.close()


def multi_exec_rate(port, clients=4, transactions=50000, per_batch=50):
    ctx = multiprocessing.get_context("fork")
    ready, go, result = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    batches = max(1, transactions // (clients * per_batch))
    procs = [ctx.Process(target=_client,
                         args=(port, b"tx:%d" % i, batches, per_batch, ready, go, result))
             for i in range(clients)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    go.set()
    done = [result.get(timeout=300) for _ in procs]
    for p in procs:
        p.join()
    return sum(n for n, _ in done) / max(t for _, t in done)

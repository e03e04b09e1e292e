package dev.lanes.mongoserver;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import io.netty.channel.Channel;

/**
 * mongo-java-server with its H2 file backend, as Lanes runs it on loopback.
 *
 * <p>Two things differ from the stock {@code H2MongoServer}:
 * <ul>
 *   <li>it reports MongoDB 4.4 (wire version 9), the oldest server PyMongo 4.20 accepts
 *       (the stock server says wire version 8 and PyMongo refuses to talk to it);</li>
 *   <li>a write command is committed to the H2 file before its reply is sent. H2's MVStore
 *       otherwise commits on a ~1 s timer, and a {@code kill -9} loses what it acknowledged
 *       since. MVStore commits are serialised, so concurrent writers share one commit.</li>
 *   <li>a query that names its {@code _id}s ({@code _id: "x"} or {@code _id: {$in: [...]}}, with
 *       any further conditions, as Lanes' conditional writes and owner-checked reads do) reads
 *       those documents. The stock server uses its
 *       {@code _id} index only for a filter that is exactly {@code {_id: value}} and scans the
 *       whole collection for anything more, so such a write cost time in proportion to the
 *       collection (5/s at 50,000 documents, measured); MongoDB serves it from the index.</li>
 * </ul>
 *
 * <p>Usage: {@code MongoWireServer <port> <data-file> [--no-commit-per-write] [--fsync]
 * [--bind=<address>]}.
 * {@code --fsync} also forces the file to the disk after each commit (survives a power
 * loss, not just a crash of the process); {@code --no-commit-per-write} restores H2's timer,
 * for measuring what the per-write commit costs. {@code --bind} listens on another address
 * than loopback (the container image listens on {@code 0.0.0.0}).
 */
public final class MongoWireServer {

    /** MongoDB 4.4: wire version 9. */
    private static final MongoVersion MONGODB_4_4 = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(4, 4, 0);
        }

        @Override
        public int getWireVersion() {
            return 9;
        }
    };

    /** Commands that change data; each is committed before its reply. */
    private static final Set<String> WRITE_COMMANDS = caseInsensitive(
        "insert", "update", "delete", "findAndModify", "create", "createIndexes", "drop",
        "dropDatabase", "dropIndexes", "renameCollection");

    /**
     * Netty event-loop threads. mongo-java-server runs each command on its connection's
     * event-loop thread, so a slow command (a scan) stalls every other connection on that
     * thread, heartbeats included; Netty's default (2 per core) made a client's heartbeat
     * time out behind one under load, and PyMongo then cancelled that client's operations.
     */
    private static final int EVENT_LOOP_THREADS = 32;

    private MongoWireServer() {
    }

    private static Set<String> caseInsensitive(String... names) {
        Set<String> set = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
        set.addAll(List.of(names));
        return set;
    }

    /** An H2 backend that commits (and optionally syncs) its store after every write command. */
    static final class DurableH2Backend extends H2Backend {
        private final boolean commitPerWrite;
        private final boolean fsync;

        DurableH2Backend(String fileName, boolean commitPerWrite, boolean fsync) {
            super(fileName);
            this.commitPerWrite = commitPerWrite;
            this.fsync = fsync;
        }

        @Override
        public Document handleCommand(Channel channel, String database, String command, Document query) {
            try {
                return super.handleCommand(channel, database, command, query);
            } finally {
                // Also after a failed write: an unordered bulk applies what it can, then errs.
                if (commitPerWrite && changesData(command, query)) {
                    getMvStore().commit();
                    if (fsync) {
                        getMvStore().sync();
                    }
                }
            }
        }

        @Override
        protected MongoDatabase openOrCreateDatabase(String databaseName) {
            return new IdLookupDatabase(databaseName, getMvStore(), getCursorRegistry());
        }

        /** H2's database, whose collections look a named {@code _id} up (an inner class: the
         *  super constructor opens collections before any field of a subclass is set). */
        final class IdLookupDatabase extends H2Database {
            IdLookupDatabase(String databaseName, MVStore mvStore, CursorRegistry cursorRegistry) {
                super(databaseName, mvStore, cursorRegistry);
            }

            @Override
            protected MongoCollection<Object> openOrCreateCollection(String name, CollectionOptions options) {
                // The same maps H2Database opens (MVStore hands out one instance per name).
                String namespace = getFullCollectionNamespace(name);
                MVStore store = getMvStore();
                MVMap<Object, Document> data = store.openMap("databases." + namespace);
                MVMap<String, Object> meta = store.openMap("meta." + namespace);
                return new IdLookupCollection(this, name, options, data, meta, cursorRegistry);
            }
        }

        private static boolean changesData(String command, Document query) {
            if (WRITE_COMMANDS.contains(command)) {
                return true;
            }
            // An aggregation writes only through a $out or $merge stage.
            if (command.equalsIgnoreCase("aggregate") && query.get("pipeline") instanceof List<?> stages) {
                for (Object stage : stages) {
                    if (stage instanceof Document doc && (doc.containsKey("$out") || doc.containsKey("$merge"))) {
                        return true;
                    }
                }
            }
            return false;
        }
    }

    /** H2's collection, reading the one document a query's {@code _id} names instead of scanning. */
    static final class IdLookupCollection extends H2Collection {
        IdLookupCollection(MongoDatabase database, String name, CollectionOptions options,
                           MVMap<Object, Document> data, MVMap<String, Object> meta, CursorRegistry cursors) {
            super(database, name, options, data, meta, cursors);
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip,
                                             int numberToReturn, int batchSize, Document fieldSelector) {
            String idField = getIdField();
            List<Object> ids = idField == null || query.size() < 2 ? null : namedIds(query.get(idField));
            if (ids != null) {
                List<Object> positions = new ArrayList<>();
                for (Object id : ids) {
                    if (getDocument(id) != null) {
                        positions.add(id);
                    }
                }
                // The whole query is still matched against those documents.
                return matchDocuments(query, positions, orderBy, numberToSkip, numberToReturn,
                    batchSize, fieldSelector);
            }
            return super.queryDocuments(query, orderBy, numberToSkip, numberToReturn, batchSize, fieldSelector);
        }

        /** The ids an {@code _id} condition names ({@code "x"} or {@code {$in: ["x", ...]}}), or
         *  null for anything else. Strings only: documents are stored under their _id as is, and
         *  Lanes' ids are strings (a number's stored key may differ from the queried one, 1 vs 1.0). */
        private static List<Object> namedIds(Object condition) {
            if (condition instanceof String) {
                return List.of(condition);
            }
            if (condition instanceof Document doc && doc.size() == 1 && doc.get("$in") instanceof List<?> values
                    && values.stream().allMatch(String.class::isInstance)) {
                return new ArrayList<>(new LinkedHashSet<>(values));
            }
            return null;
        }
    }

    /** Start the server; it runs until SIGTERM (or SIGINT), then closes the H2 file cleanly. */
    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println(
                "usage: MongoWireServer <port> <data-file> [--no-commit-per-write] [--fsync] [--bind=<address>]");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        String dataFile = args[1];
        List<String> flags = List.of(args).subList(2, args.length);
        String address = "127.0.0.1";
        for (String flag : flags) {
            if (flag.startsWith("--bind=")) {
                address = flag.substring("--bind=".length());
            } else if (!flag.equals("--no-commit-per-write") && !flag.equals("--fsync")) {
                System.err.println("unknown option: " + flag);
                System.exit(2);
            }
        }
        DurableH2Backend backend = new DurableH2Backend(
            dataFile, !flags.contains("--no-commit-per-write"), flags.contains("--fsync"));
        backend.version(MONGODB_4_4);
        MongoServer server = new MongoServer(backend);
        server.bind(new InetSocketAddress(address, port), 1, EVENT_LOOP_THREADS);
        // shutdownNow closes the clients, then the backend, which writes H2's clean-shutdown mark.
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow, "mongo-wire-shutdown"));
        System.out.println("MongoWireServer listening on " + address + ":" + port + ", data in " + dataFile
            + (flags.isEmpty() ? "" : " " + String.join(" ", flags)));
    }
}

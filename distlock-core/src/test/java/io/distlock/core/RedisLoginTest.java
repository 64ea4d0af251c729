package io.distlock.core;

import static io.distlock.testing.Await.result;
import static io.distlock.testing.Await.seconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.distlock.testing.Pushes;
import io.distlock.testing.Pushes.Kind;
import io.distlock.testing.RedisProcess;

/**
 * A Redis that wants a login, as every managed Redis does: a password ({@code requirepass}), an
 * ACL user named in the URL, and an ACL user allowed only what distlock needs (the line
 * docs/operations.md gives). A login Redis refuses is said to be one, and no password reaches
 * a message. A start the ACL refuses leaves nothing behind on the application's client.
 */
class RedisLoginTest {

    /** docs/operations.md, "The ACL rights distlock needs", gives the same ({@link #theDocsGiveTheAclTestedHere}). */
    static final String MINIMAL_ACL = "resetkeys ~distlock:* resetchannels &distlock:* -@all +@read +@write +@scripting +@pubsub"
            + " -@dangerous +ping +time +info +wait";

    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @Test
    void theDocsGiveTheAclTestedHere() throws Exception {
        assertThat(Files.readString(Path.of("..", "docs", "operations.md"))).contains(MINIMAL_ACL);
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        cleanup.add(c);
        return c;
    }

    private RedisProcess withPassword() {
        return closeLater(RedisProcess.startWithLogin(List.of("s3cret-pw"), "--requirepass", "s3cret-pw"));
    }

    /** An admin for the test's own commands, alice with every right, and no default user. */
    private RedisProcess withAclUsers(String... users) {
        List<String> args = new ArrayList<>(List.of("--user", "admin", "on", ">admin-pw", "~*", "&*", "+@all", "--user", "default", "off"));
        for (String user : users) {
            args.add("--user");
            args.addAll(List.of(user.split(" ")));
        }
        return closeLater(RedisProcess.startWithLogin(List.of("admin", "admin-pw"), args.toArray(String[]::new)));
    }

    private LockService node(String url) {
        return closeLater(LockService.connect(url, LockConfig.defaults()));
    }

    private static void locksAndUnlocks(LockService node) {
        LockSession session = node.openSession("ann", LockListener.NONE);
        assertThat(result(session.lock("doc"))).isInstanceOf(LockResult.Locked.class);
        assertThat(result(session.unlock("doc"))).isEqualTo(new UnlockResult.Unlocked());
        session.close();
    }

    private static String everything(Throwable e) {
        StringWriter out = new StringWriter();
        e.printStackTrace(new PrintWriter(out));
        return out.toString();
    }

    @Test
    void aPasswordInTheUrlIsUsed() {
        RedisProcess redis = withPassword();
        locksAndUnlocks(node("redis://:s3cret-pw@127.0.0.1:" + redis.port()));
    }

    @Test
    void aWrongPasswordIsSaidToBeOneAndIsShownNowhere() {
        RedisProcess redis = withPassword();
        assertThatThrownBy(() -> node("redis://:not-the-pw@127.0.0.1:" + redis.port()))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageStartingWith("Cannot connect to Redis at 127.0.0.1:" + redis.port() + ": ")
                .hasMessageContaining("refused the user name or password")
                .hasMessageContaining("authentication failed")
                .satisfies(e -> assertThat(everything(e)).doesNotContain("not-the-pw"));
    }

    /**
     * Found by review (2026-12-05): a password with a '%' that starts no %XX (or an @ / # in it)
     * was refused by Redisson's URL parser, whose message was quoted: "URLDecoder: Illegal hex
     * characters in escape (%) pattern - Error at index 0 in: "t-"", a piece of the password,
     * under "Cannot connect", which sends the user looking for a network problem.
     */
    @Test
    void aPasswordThatIsNotPercentEncodedIsSaidToBeOneAndShownNowhere() {
        for (String password : new String[] {"s3cr%t-PASSWORD", "s3cr%-PASSWORD", "a#b-PASSWORD", "a/b-PASSWORD", "a@b-PASSWORD"}) {
            assertThatThrownBy(() -> node("redis://:" + password + "@127.0.0.1:1"))
                    .isInstanceOf(BackendUnavailableException.class)
                    .hasMessageContaining("the URL cannot be parsed")
                    .hasMessageContaining("write % as %25")
                    .satisfies(e -> assertThat(everything(e)).as(password)
                            .doesNotContain("PASSWORD").doesNotContain("\"t-\"").doesNotContain("\"-P\"").doesNotContain("\"a\"")
                            .doesNotContain("Connection refused"));
        }
        // Percent-encoded, the same password reaches Redis's login.
        RedisProcess redis = closeLater(RedisProcess.startWithLogin(List.of("s3cr%t+pw"), "--requirepass", "s3cr%t+pw"));
        locksAndUnlocks(node("redis://:s3cr%25t%2Bpw@127.0.0.1:" + redis.port()));
    }

    @Test
    void noPasswordIsSaidToBeMissing() {
        RedisProcess redis = withPassword();
        assertThatThrownBy(() -> node("redis://127.0.0.1:" + redis.port()))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining("Redis requires a password and the URL gives none (NOAUTH)")
                .hasMessageContaining("redis://user:password@host:port");
    }

    /** Found by review (2026-12-07): Redisson's raw text was shown, its channel's internals included. */
    @Test
    void aPasswordRedisDoesNotHaveIsSaidToBeOne() {
        RedisProcess redis = closeLater(RedisProcess.start());
        assertThatThrownBy(() -> node("redis://:unexpected-pw@127.0.0.1:" + redis.port()))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining("Redis has no password set, but the URL gives one")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("channel").doesNotContain("unexpected-pw"));
    }

    @Test
    void theUserNamedInTheUrlLogsIn() {
        RedisProcess redis = withAclUsers("alice on >alice-pw ~* &* +@all");
        // no default user: only a login as alice gets in
        locksAndUnlocks(node("redis://alice:alice-pw@127.0.0.1:" + redis.port()));
        assertThat(String.valueOf(redis.command("CLIENT", "LIST"))).contains(" user=alice ");

        assertThatThrownBy(() -> node("redis://bob:alice-pw@127.0.0.1:" + redis.port()))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining("WRONGPASS")
                .satisfies(e -> assertThat(everything(e)).doesNotContain("alice-pw"));
    }

    /**
     * Everything a node does, on a user with only {@link #MINIMAL_ACL}, across two nodes and with a
     * replica (so grants WAIT for it): nothing is refused, and Redis's ACL log stays empty.
     */
    @Test
    void aUserWithOnlyTheDocumentedRightsCanDoEverything() {
        RedisProcess redis = withAclUsers("locks on >locks-pw " + MINIMAL_ACL);
        RedisProcess replica = closeLater(RedisProcess.startWithLogin(List.of("admin", "admin-pw"),
                "--user", "admin", "on", ">admin-pw", "~*", "&*", "+@all", "--user", "default", "off",
                "--replicaof", "127.0.0.1", Integer.toString(redis.port()), "--masteruser", "admin", "--masterauth", "admin-pw"));
        await().atMost(seconds(20)).until(() -> String.valueOf(redis.command("INFO", "replication")).contains("connected_slaves:1")
                && String.valueOf(replica.command("INFO", "replication")).contains("master_link_status:up"));
        String url = "redis://locks:locks-pw@127.0.0.1:" + redis.port();
        LockService a = node(url);
        LockService b = node(url);

        Pushes bobs = new Pushes();
        LockSession ann = a.openSession("ann", new Pushes(), new SessionOptions(Duration.ofSeconds(30), "{}"));
        LockSession bob = b.openSession("bob", bobs);
        List<Map.Entry<String, LockState>> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        LockWatch watch = closeLater(b.watch((lock, state) -> seen.add(Map.entry(lock, state))));
        result(watch.watch(List.of("doc")));

        assertThat(result(ann.lock("doc"))).isInstanceOf(LockResult.Locked.class);
        assertThat(result(bob.lock("doc"))).isEqualTo(new LockResult.Waiting("ann"));
        assertThat(result(ann.lock("shared", LockOptions.shared()))).isInstanceOf(LockResult.Locked.class);
        assertThat(result(bob.lock("shared", LockOptions.shared()))).isInstanceOf(LockResult.Locked.class);
        assertThat(result(a.query(List.of("doc", "shared")))).containsKeys("doc", "shared");
        result(ann.unlock("doc"));
        bobs.expect(Kind.RETRY, "doc", seconds(5));
        assertThat(result(bob.lock("doc"))).isInstanceOf(LockResult.Locked.class);
        assertThat(result(ann.lock("doc", LockOptions.DEFAULT.queue()))).isInstanceOf(LockResult.Queued.class);
        await().atMost(seconds(5)).until(() -> !seen.isEmpty());

        // a session resumed on the other node
        result(ann.detach());
        ResumeResult resumed = result(b.resume(ann.id(), ann.resumeSecret().orElseThrow(), new Pushes()));
        assertThat(resumed).isInstanceOf(ResumeResult.Resumed.class);
        result(bob.unlock("doc"));
        await().atMost(seconds(5)).until(() -> ((ResumeResult.Resumed) resumed).session().heldLocks().containsKey("doc"));
        ((ResumeResult.Resumed) resumed).session().close();
        bob.close();

        assertThat(String.valueOf(redis.command("INFO", "commandstats"))).as("grants waited for the replica")
                .containsPattern("cmdstat_wait:calls=[1-9]");
        // Refused by the ACL: only Redisson's probe for a cluster proxy when a client starts (an
        // EVAL of GET test1 and GET test2, which it expects to fail on one Redis), once per node.
        @SuppressWarnings("unchecked")
        List<List<Object>> refused = (List<List<Object>>) redis.command("ACL", "LOG");
        assertThat(refused).as("refused by Redis's ACL").allSatisfy(entry -> assertThat(entry)
                .containsSubsequence("reason", "key").containsSubsequence("object", "test1").containsSubsequence("username", "locks")
                .anySatisfy(field -> assertThat(String.valueOf(field)).contains(" cmd=eval ")));
    }

    @Test
    void aUserWhoMayNotPingCannotConnectAndIsToldWhy() {
        // Redisson sends PING on every new connection
        RedisProcess redis = withAclUsers("locks on >locks-pw " + MINIMAL_ACL.replace(" +ping", ""));
        assertThatThrownBy(() -> node("redis://locks:locks-pw@127.0.0.1:" + redis.port()))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining("Redis's ACL does not allow the user something distlock needs (NOPERM")
                .hasMessageContaining("'ping'")
                .hasMessageNotContaining("channel: [");
    }

    /**
     * A user without a right the grant scripts need fails the node's start, saying which, rather
     * than a node that starts and then fails every lock.
     */
    @Test
    void aUserWithoutARightTheScriptsNeedCannotStartANodeAndIsToldWhich() {
        // the documented rights but INFO, which the grant scripts read (the quarantine is on by default)
        RedisProcess redis = withAclUsers("locks on >locks-pw " + MINIMAL_ACL.replace(" +info", ""),
                "clock on >clock-pw " + MINIMAL_ACL.replace(" +time", ""),
                "elsewhere on >elsewhere-pw " + MINIMAL_ACL.replace("distlock:", "other:"));
        // Redis 6.2's words for a command a script may not run; Redis 7 says which command
        assertThatThrownBy(() -> node("redis://locks:locks-pw@127.0.0.1:" + redis.port()))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageStartingWith("Redis refuses this node's user something distlock needs (INFO replication: ")
                .hasMessageContaining("can't run this command")
                .hasMessageEndingWith("see the ACL rights distlock needs in docs/operations.md");
        assertThatThrownBy(() -> node("redis://clock:clock-pw@127.0.0.1:" + redis.port()))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageStartingWith("Redis refuses this node's user something distlock needs (TIME: ");
        // keys and channels of another prefix: refused by Redis before the script runs
        assertThatThrownBy(() -> node("redis://elsewhere:elsewhere-pw@127.0.0.1:" + redis.port()))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining("Redis's ACL does not allow the user something distlock needs (NOPERM")
                .hasMessageNotContaining("channel: [");
    }

    /**
     * Found by review: a start refused by a later subscription (here the steal notices' channel) left
     * the listeners added before it on the application's client, calling a service that never started.
     */
    @Test
    void aStartRefusedASubscriptionLeavesNoListenerOnTheApplicationsClient() {
        RedisProcess redis = withAclUsers("locks on >locks-pw " + MINIMAL_ACL.replace("resetchannels &distlock:*",
                "resetchannels &distlock:granted:* &distlock:adopted:* &distlock:released"));
        org.redisson.config.Config c = new org.redisson.config.Config();
        c.useSingleServer().setAddress("redis://127.0.0.1:" + redis.port()).setUsername("locks").setPassword("locks-pw");
        org.redisson.api.RedissonClient client = org.redisson.Redisson.create(c);
        closeLater(() -> client.shutdown());

        // Redisson takes the refused SUBSCRIBE for no answer: a timeout, after three listeners were added.
        assertThatThrownBy(() -> LockService.create(client, LockConfig.defaults())).isInstanceOf(BackendUnavailableException.class);
        assertThat(String.valueOf(redis.command("ACL", "LOG"))).contains("distlock:stolen");
        org.redisson.api.RTopic releases = client.getTopic("distlock:released");
        await().atMost(seconds(5)).until(() -> releases.countListeners() == 0);
    }

    /** Without the quarantine and the wait for replicas the scripts read no INFO: such a user may run a node. */
    @Test
    void aUserWithoutInfoMayRunANodeWithoutTheQuarantine() {
        RedisProcess redis = withAclUsers("locks on >locks-pw " + MINIMAL_ACL.replace(" +info", ""));
        locksAndUnlocks(closeLater(LockService.connect("redis://locks:locks-pw@127.0.0.1:" + redis.port(),
                LockConfig.builder().dataLossQuarantine(false).replicaSync(Duration.ZERO).build())));
    }
}

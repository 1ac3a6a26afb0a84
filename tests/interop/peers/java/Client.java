// aXMLRPC (Debian libaxmlrpc-java) as a client: java Client HOST PORT SCENARIO
// The library is client-only. Flags per scenario: bigint-8byte sets FLAGS_8BYTE_INT,
// nil sets FLAGS_NIL, nil-apache sets FLAGS_NIL|FLAGS_APACHE_WS; the rest use FLAGS_NONE.
import de.timroes.axmlrpc.XMLRPCClient;
import de.timroes.axmlrpc.XMLRPCServerException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.*;

public class Client {
    public static void main(String[] a) throws Exception {
        String url = "http://" + a[0] + ":" + a[1] + "/RPC2";
        String sc = a[2];
        int flags = XMLRPCClient.FLAGS_NONE;
        if (sc.equals("bigint-8byte")) flags = XMLRPCClient.FLAGS_8BYTE_INT;
        if (sc.equals("nil")) flags = XMLRPCClient.FLAGS_NIL;
        if (sc.equals("nil-apache")) flags = XMLRPCClient.FLAGS_NIL | XMLRPCClient.FLAGS_APACHE_WS;
        XMLRPCClient c = new XMLRPCClient(new URL(url), "rpcspy-interop-axmlrpc", flags);
        Map<String, Object> big = new LinkedHashMap<>();
        big.put("big", 1099511627776L); big.put("small", 7); big.put("neg", -5);
        Map<String, Object> m1 = new LinkedHashMap<>(); m1.put("methodName", "add"); m1.put("params", new Object[]{1, 2});
        Map<String, Object> m2 = new LinkedHashMap<>(); m2.put("methodName", "demo.fault"); m2.put("params", new Object[]{7, "x"});
        Calendar cal = Calendar.getInstance(TimeZone.getTimeZone("UTC"));
        cal.clear(); cal.set(2026, Calendar.DECEMBER, 1, 8, 30, 0);
        try {
            Object r;
            switch (sc) {
                case "plain": r = c.call("add", 2, 3); break;
                case "string": r = c.call("echo", "a<b & c> \u00e9"); break;
                case "bigint": case "bigint-8byte": r = c.call("demo.echo", big); break;
                case "fault": r = c.call("demo.fault", 4, "boom"); break;
                case "multicall": r = c.call("system.multicall", (Object) new Object[]{m1, m2}); break;
                case "nil": case "nil-apache": r = c.call("demo.echo", (Object) null); break;
                case "types": r = c.call("demo.echo", (Object) new Object[]{true, false, 1.5, cal.getTime(),
                        "hello world hello world hello world hello world hello world hello world hello world hello world ".getBytes(StandardCharsets.US_ASCII), ""}); break;
                default: System.err.println("unknown scenario " + sc); System.exit(2); return;
            }
            System.out.println("result: " + (r instanceof Object[] ? Arrays.deepToString((Object[]) r) : String.valueOf(r)));
        } catch (XMLRPCServerException e) {
            System.out.println("fault: " + e.getErrorNr() + " " + e.getMessage());
        } catch (Exception e) {
            Throwable t = e;
            while (t.getCause() != null && t.getCause() != t) t = t.getCause();
            System.out.println("error: " + t.getClass().getSimpleName() + ": " + t.getMessage());
        }
    }
}

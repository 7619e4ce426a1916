// epubcheck on several books in one JVM (run as a single-file source program: java -cp epubcheck.jar THIS books...):
// a JVM's start and epubcheck's schemas are paid once, not once a book. Each book's report is epubcheck's own,
// then one line "== BOOK: F fatal, E errors, W warnings" that tests/digest/test_digest.py reads.
import java.io.File;

import com.adobe.epubcheck.api.EpubCheck;
import com.adobe.epubcheck.util.DefaultReportImpl;

public class EpubCheckAll {
    public static void main(String[] books) {
        int bad = 0;
        for (String book : books) {
            DefaultReportImpl report = new DefaultReportImpl(book);
            new EpubCheck(new File(book), report).validate();
            int fatal = report.getFatalErrorCount(), errors = report.getErrorCount(), warnings = report.getWarningCount();
            System.out.println("== " + book + ": " + fatal + " fatal, " + errors + " errors, " + warnings + " warnings");
            bad += fatal + errors + warnings;
        }
        System.exit(bad == 0 ? 0 : 1);
    }
}

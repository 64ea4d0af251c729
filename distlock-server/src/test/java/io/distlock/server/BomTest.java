package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * distlock-bom stays true: it has no parent (so importing it pins nothing but distlock), its
 * version is the parent's, and it manages exactly the modules that are published (every module
 * of the parent but the BOM itself and those that skip deployment), at {@code ${project.version}}.
 */
class BomTest {

    private static final Path ROOT = Path.of("..");

    @Test
    void theBomManagesEveryPublishedModuleAtTheProjectVersion() throws Exception {
        Document parent = read(ROOT.resolve("pom.xml"));
        Document bom = read(ROOT.resolve("distlock-bom/pom.xml"));

        assertThat(children(bom.getDocumentElement(), "parent")).as("the BOM's parent").isEmpty();
        assertThat(text(bom.getDocumentElement(), "version")).isEqualTo(text(parent.getDocumentElement(), "version"));

        List<String> published = new ArrayList<>();
        for (Element module : descendants(parent.getDocumentElement(), "module")) {
            String name = module.getTextContent().trim();
            Document pom = read(ROOT.resolve(name).resolve("pom.xml"));
            boolean skipsDeploy = !descendants(pom.getDocumentElement(), "maven.deploy.skip").isEmpty();
            if (!name.equals("distlock-bom") && !skipsDeploy) {
                published.add(name);
            }
        }
        List<String> managed = new ArrayList<>();
        for (Element dependency : descendants(bom.getDocumentElement(), "dependency")) {
            assertThat(text(dependency, "groupId")).isEqualTo("io.distlock");
            assertThat(text(dependency, "version")).isEqualTo("${project.version}");
            managed.add(text(dependency, "artifactId"));
        }
        assertThat(published).contains("distlock-core", "distlock-websocket", "distlock-server");
        assertThat(managed).containsExactlyInAnyOrderElementsOf(published);
    }

    private static Document read(Path pom) throws Exception {
        assertThat(pom).exists();
        try (var in = Files.newInputStream(pom)) {
            return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(in);
        }
    }

    private static List<Element> children(Element parent, String name) {
        List<Element> found = new ArrayList<>();
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals(name)) {
                found.add(e);
            }
        }
        return found;
    }

    private static List<Element> descendants(Element parent, String name) {
        List<Element> found = new ArrayList<>();
        NodeList nodes = parent.getElementsByTagName(name);
        for (int i = 0; i < nodes.getLength(); i++) {
            found.add((Element) nodes.item(i));
        }
        return found;
    }

    private static String text(Element parent, String name) {
        List<Element> found = children(parent, name);
        assertThat(found).as("<%s> in <%s>", name, parent.getTagName()).hasSize(1);
        return found.get(0).getTextContent().trim();
    }
}
